"""Two versions' flags and rankings compared in pandas, checked against plain Python sets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from monitoring.comparison import FLAG_COLUMNS, flag_overlap, paired_scores, ranks, top_share_changes


def scores(ids: np.ndarray, rng: np.random.Generator, flag_share: float) -> pd.DataFrame:
    frame = pd.DataFrame({"transaction_id": ids, "anomaly_score": rng.random(len(ids))})
    for column in FLAG_COLUMNS:
        frame[column] = rng.random(len(ids)) < flag_share
    return frame


@pytest.fixture
def paired() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    base = scores(np.arange(1, 1001), rng, 0.1)
    other = scores(np.arange(51, 1051), rng, 0.15)  # 950 rows in common
    return paired_scores(base, other)


def test_only_rows_both_versions_scored_are_paired(paired) -> None:
    assert len(paired) == 950 and paired["transaction_id"].min() == 51 and paired["transaction_id"].max() == 1000


def test_flag_overlap_counts_and_jaccard_match_sets(paired) -> None:
    for row, column in zip(flag_overlap(paired), FLAG_COLUMNS, strict=True):
        base = set(paired.loc[paired[f"{column}_base"], "transaction_id"])
        other = set(paired.loc[paired[f"{column}_other"], "transaction_id"])
        assert (row["base"], row["other"], row["both"]) == (len(base), len(other), len(base & other))
        assert (row["only_base"], row["only_other"]) == (len(base - other), len(other - base))
        assert row["jaccard"] == pytest.approx(len(base & other) / len(base | other))


def test_jaccard_is_none_when_neither_version_flags() -> None:
    frame = pd.DataFrame({"transaction_id": [1, 2], "anomaly_score": [0.1, 0.2]})
    for column in FLAG_COLUMNS:
        frame[column] = False
    assert {row["jaccard"] for row in flag_overlap(paired_scores(frame, frame))} == {None}


def test_ranks_break_ties_by_transaction_id() -> None:
    assert ranks(np.array([0.5, 0.9, 0.5, 0.1]), np.array([7, 3, 2, 9])).tolist() == [3, 1, 2, 4]


def test_rows_entering_and_leaving_the_top_share_match_sets(paired) -> None:
    changes = top_share_changes(paired, share=0.02, listed=5)

    top = math.ceil(0.02 * len(paired))
    by_base = sorted(zip(-paired["anomaly_score_base"], paired["transaction_id"], strict=True))[:top]
    by_other = sorted(zip(-paired["anomaly_score_other"], paired["transaction_id"], strict=True))[:top]
    base_top, other_top = {t for _, t in by_base}, {t for _, t in by_other}
    entering = [t for _, t in by_other if t not in base_top]
    leaving = [t for _, t in by_base if t not in other_top]
    assert changes["top"] == top and changes["kept"] == len(base_top & other_top)
    assert (changes["entering_count"], changes["leaving_count"]) == (len(entering), len(leaving))
    assert [row["transaction_id"] for row in changes["entering"]] == entering[:5]
    assert [row["transaction_id"] for row in changes["leaving"]] == leaving[:5]
    assert all(row["rank_other"] <= top < row["rank_base"] for row in changes["entering"])
