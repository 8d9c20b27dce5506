"""Turning scored rows into decisions: approve, review or block, each with its reasons.

The order, as Radar processes rules:
1. allow rules (action approve): any match approves, whatever follows;
2. block rules: any match blocks;
3. review rules: any match sends the row to review;
4. thresholds on the 0-99 risk score: risk >= block_at blocks, else risk >= review_at reviews;
5. otherwise approve.

The risk score counts the nines of anomaly_score, 33 points each (0.9 -> 33, 0.99 -> 66, 0.999 ->
99), rounded half up; "risk >= t" is evaluated as `anomaly_score >= risk_cutoff(t)` everywhere (Q and
pandas), so both sides agree to the bit.

`reasons` lists everything that applied, not only what decided: every rule matched
("rule 'Big spend' (block): ..."), every list hit inside a matched rule ("list 'trusted
wholesalers' has customer_id"), and every threshold crossed ("risk >= block_at 75").
The same order is built as a SQL CASE (`decision_case`) for backtests over stored rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Case, CharField, Q, Value, When

from .conditions import Columns, CompiledCondition

APPROVE, REVIEW, BLOCK = "approve", "review", "block"
ACTION_ORDER = (APPROVE, BLOCK, REVIEW)  # rules are processed in this order of their actions


# The 0-99 risk score counts the nines of anomaly_score, 33 points each: 0.9 -> 33, 0.99 -> 66,
# 0.999 -> 99 (its ceiling). anomaly_score is 1 - a tail probability, so half of all lines score
# above 0.75 and a linear scale (x 99) put 49 % of the real file at risk 75 or more; this one puts
# 2.8 % at 65 or more and 1.4 % at 75 or more (Radar's review and block defaults).
POINTS_PER_NINE = 33
RISK_CUTOFFS = np.array([1.0 - 10.0 ** (-(threshold - 0.5) / POINTS_PER_NINE) for threshold in range(1, 100)])


def risk_cutoff(threshold: int) -> float:
    """The least anomaly_score whose 0-99 risk score is at least `threshold` (0: every score)."""
    return float(RISK_CUTOFFS[threshold - 1]) if threshold >= 1 else -1.0


def risk_scores(anomaly_score: np.ndarray) -> np.ndarray:
    """The 0-99 risk score: 33 x -log10(1 - anomaly_score), rounded half up, capped at 99; counted
    against `risk_cutoff`'s values so that "risk >= t" and "anomaly_score >= cutoff" agree to the bit."""
    return np.searchsorted(RISK_CUTOFFS, np.asarray(anomaly_score, dtype=float), side="right").astype(np.int16)


@dataclass(frozen=True)
class CompiledRule:
    name: str
    action: str
    reason: str
    condition: CompiledCondition

    @property
    def label(self) -> str:
        return f"rule '{self.name}' ({self.action})" + (f": {self.reason}" if self.reason else "")


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy version ready to decide: its rules in processing order and its thresholds."""

    policy_id: int
    review_at: int
    block_at: int
    rules: tuple[CompiledRule, ...]

    def rules_for(self, action: str) -> list[CompiledRule]:
        return [rule for rule in self.rules if rule.action == action]


def order_rules(rules: Sequence[CompiledRule]) -> tuple[CompiledRule, ...]:
    """`rules` in processing order: approve, then block, then review; stable within an action."""
    return tuple(sorted(rules, key=lambda rule: ACTION_ORDER.index(rule.action)))


@dataclass(frozen=True)
class Decisions:
    """One decision per row of the decided frame, in its order; `reasons` as lists and as JSON text."""

    decision: np.ndarray  # object array of "approve" / "review" / "block"
    risk: np.ndarray
    reasons: list[list[str]]
    reasons_json: list[str]


def decide_frame(frame: pd.DataFrame | Mapping[str, Any], policy: CompiledPolicy) -> Decisions:
    """Decide every row of `frame` (columns named as `conditions.FIELD_KINDS`, at least anomaly_score;
    a frame or a mapping of equally long columns).

    Vectorised: one mask per rule and list hit; the reason lists are built once per distinct
    combination of matches, so a 400k-row frame costs a few distinct lists, not 400k.
    """
    anomaly = np.asarray(frame["anomaly_score"], dtype=float)
    n = len(anomaly)
    columns_of = Columns(frame)
    labels: list[str] = []
    columns: list[np.ndarray] = []
    matched: dict[str, np.ndarray] = {action: np.zeros(n, dtype=bool) for action in ACTION_ORDER}
    for rule in policy.rules:
        mask = np.asarray(rule.condition.mask(columns_of), dtype=bool)
        matched[rule.action] |= mask
        labels.append(rule.label)
        columns.append(mask)
        for list_name, key, hit in rule.condition.list_hits:
            labels.append(f"list '{list_name}' has {key}")
            columns.append(mask & np.asarray(hit(columns_of), dtype=bool))
    over_block = anomaly >= risk_cutoff(policy.block_at)
    over_review = anomaly >= risk_cutoff(policy.review_at)
    labels += [f"risk >= block_at {policy.block_at}", f"risk >= review_at {policy.review_at}"]
    columns += [over_block, over_review]
    decision = np.select(
        [matched[APPROVE], matched[BLOCK], matched[REVIEW], over_block, over_review],
        [APPROVE, BLOCK, REVIEW, BLOCK, REVIEW],
        default=APPROVE,
    ).astype(object)
    reasons, reasons_json = _reason_lists(np.column_stack(columns) if n else np.zeros((0, len(labels)), bool), labels)
    return Decisions(decision=decision, risk=risk_scores(anomaly), reasons=reasons, reasons_json=reasons_json)


def _reason_lists(hits: np.ndarray, labels: list[str]) -> tuple[list[list[str]], list[str]]:
    """Each row's labels where its hit is true, built once per distinct row of `hits`."""
    if len(hits) == 0:
        return [], []
    if len(hits) <= 8:  # /api/score: building lists directly beats finding distinct rows
        lists = [[label for label, hit in zip(labels, row, strict=True) if hit] for row in hits.tolist()]
        return lists, [json.dumps(items, separators=(",", ":")) for items in lists]
    codes, first_rows = _distinct_rows(hits)
    lists = [[label for label, hit in zip(labels, row, strict=True) if hit] for row in hits[first_rows].tolist()]
    texts = [json.dumps(items, separators=(",", ":")) for items in lists]
    return [lists[i] for i in codes], [texts[i] for i in codes]


def _distinct_rows(hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(per row the number of its distinct pattern, the first row of each pattern) of a boolean matrix.

    Packs each row into 64-bit words and factorizes them with pandas' hash table, word by word:
    O(rows), where np.unique(axis=0) sorts.
    """
    packed = np.packbits(hits, axis=1)
    width = -(-packed.shape[1] // 8) * 8
    words = np.zeros((len(hits), width), dtype=np.uint8)
    words[:, : packed.shape[1]] = packed
    words = words.view(np.uint64)
    codes = np.zeros(len(hits), dtype=np.int64)
    for column in words.T:
        word_codes, uniques = pd.factorize(column)
        codes, _ = pd.factorize(codes * len(uniques) + word_codes)
    _, first_rows = np.unique(codes, return_index=True)
    return codes, first_rows


def decision_case(policy: CompiledPolicy) -> Case:
    """The policy's decision as a SQL CASE over TransactionScore rows, in the same order as `decide_frame`."""
    whens = [
        When(_any([rule.condition.q for rule in policy.rules_for(action)]), then=Value(action))
        for action in ACTION_ORDER
        if policy.rules_for(action)
    ]
    whens += [
        When(anomaly_score__gte=risk_cutoff(policy.block_at), then=Value(BLOCK)),
        When(anomaly_score__gte=risk_cutoff(policy.review_at), then=Value(REVIEW)),
    ]
    return Case(*whens, default=Value(APPROVE), output_field=CharField())


def _any(qs: list[Q]) -> Q:
    combined = qs[0]
    for q in qs[1:]:
        combined |= q
    return combined
