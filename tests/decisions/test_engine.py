"""Processing order: allow beats block beats review beats thresholds; reasons list everything that applied."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from decisions.conditions import compile_condition, validate_condition
from decisions.engine import (
    CompiledPolicy,
    CompiledRule,
    decide_frame,
    decision_case,
    order_rules,
    risk_cutoff,
    risk_scores,
)

LISTS = {"trusted wholesalers": "customer_id", "blocked customers": "customer_id", "high-risk countries": "country"}
VALUES = {
    "trusted wholesalers": frozenset({1}),
    "blocked customers": frozenset({2, 1}),
    "high-risk countries": frozenset({"Nigeria"}),
}


def rule(name: str, action: str, condition: dict) -> CompiledRule:
    valid = validate_condition(condition, lists=LISTS)
    return CompiledRule(name=name, action=action, reason="", condition=compile_condition(valid, lists=VALUES))


def policy(*rules: CompiledRule, review_at: int = 65, block_at: int = 75) -> CompiledPolicy:
    return CompiledPolicy(policy_id=1, review_at=review_at, block_at=block_at, rules=order_rules(rules))


TRUSTED = rule(
    "trusted", "approve", {"any": [{"field": "customer_id", "op": "in_list", "value": "trusted wholesalers"}]}
)
BLOCKED = rule("blocked", "block", {"any": [{"field": "customer_id", "op": "in_list", "value": "blocked customers"}]})
RISKY = rule(
    "risky country", "review", {"any": [{"field": "country", "op": "in_list", "value": "high-risk countries"}]}
)
BIG = rule(
    "big spend",
    "block",
    {
        "all": [
            {"field": "anomaly_score", "op": "gte", "value": 0.995},
            {"field": "total_spent", "op": "gt", "value": 1000},
        ]
    },
)

FRAME = pd.DataFrame(
    {
        #               trusted+blocked  blocked   risky    big spend  over block  over review  nothing
        "customer_id": [1, 2, 3, 4, 5, 6, 7],
        "country": ["Nigeria", "France", "Nigeria", "France", "France", "France", "France"],
        "total_spent": [5000.0, 10.0, 10.0, 5000.0, 10.0, 10.0, 10.0],
        "anomaly_score": [0.999, 0.1, 0.2, 0.999, 0.996, 0.99, 0.2],
    }
)


def test_allow_beats_block_beats_review_beats_thresholds():
    decided = decide_frame(FRAME, policy(RISKY, BIG, BLOCKED, TRUSTED))
    assert decided.decision.tolist() == ["approve", "block", "review", "block", "block", "review", "approve"]


def test_a_block_list_blocks_and_an_allow_list_wins_over_the_review_threshold():
    frame = pd.DataFrame({"customer_id": [1, 2], "country": ["France"] * 2, "anomaly_score": [0.99, 0.1]})
    decided = decide_frame(frame, policy(BLOCKED, TRUSTED))
    assert decided.decision.tolist() == ["approve", "block"]
    assert "risk >= review_at 65" in decided.reasons[0]  # crossed, and listed, but the allow list decided


def test_reasons_list_every_rule_list_hit_and_threshold():
    decided = decide_frame(FRAME, policy(RISKY, BIG, BLOCKED, TRUSTED))
    assert decided.reasons[0] == [
        "rule 'trusted' (approve)",
        "list 'trusted wholesalers' has customer_id",
        "rule 'big spend' (block)",
        "rule 'blocked' (block)",
        "list 'blocked customers' has customer_id",
        "rule 'risky country' (review)",
        "list 'high-risk countries' has country",
        "risk >= block_at 75",
        "risk >= review_at 65",
    ]
    assert decided.reasons[4] == ["risk >= block_at 75", "risk >= review_at 65"]
    assert decided.reasons[6] == []
    assert decided.reasons_json[6] == "[]"


def test_thresholds_alone_and_the_risk_score():
    decided = decide_frame(FRAME, policy())
    assert decided.decision.tolist() == ["block", "approve", "approve", "block", "block", "review", "approve"]
    # 33 points per nine of anomaly_score, half up: 0.5 -> 9.93 -> 10, 0.9 -> 33, 0.99 -> 66
    assert risk_scores([0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0]).tolist() == [0, 10, 33, 66, 99, 99, 99]
    cut = risk_cutoff(65)
    assert risk_scores([np.nextafter(cut, 0), cut]).tolist() == [64, 65]  # the cutoff is where 65 starts
    assert [risk_cutoff(t) < risk_cutoff(t + 1) for t in range(99)] == [True] * 99


def test_review_at_equal_block_at_never_reviews_on_score():
    decided = decide_frame(FRAME, policy(review_at=70, block_at=70))
    assert set(decided.decision) == {"approve", "block"}


def test_an_empty_frame_gives_no_decisions():
    decided = decide_frame(FRAME.iloc[:0], policy(TRUSTED))
    assert decided.decision.tolist() == [] and decided.reasons == []


def test_the_sql_case_follows_the_same_order():
    case = decision_case(policy(RISKY, BIG, TRUSTED))
    whens = [str(when.result.value) for when in case.cases]
    assert whens == ["approve", "block", "review", "block", "review"]


def test_reason_lists_built_per_distinct_row_match_row_by_row():
    import numpy as np

    from decisions.engine import _reason_lists

    rng = np.random.default_rng(1)
    hits = rng.random((2_000, 130)) < 0.02
    hits[:, 5] = True
    labels = [f"label {i}" for i in range(130)]
    lists, texts = _reason_lists(hits, labels)
    assert lists == [[label for label, hit in zip(labels, row, strict=True) if hit] for row in hits.tolist()]
    assert texts[0] == json.dumps(lists[0], separators=(",", ":"))
