"""Two model versions side by side, in pandas: how much their flags overlap, which rows enter and leave
the top of the ranking. Frames in, plain data out; no ORM."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# flag column -> what it is called on the page
FLAG_COLUMNS = {
    "is_flagged": "final flag",
    "iso_forest_flag": "Isolation Forest",
    "autoencoder_flag": "autoencoder",
    "is_common_anomaly": "both models",
}
SCORE_COLUMNS = ["transaction_id", "anomaly_score", *FLAG_COLUMNS]
TOP_SHARE = 0.02
LISTED_ROWS = 20


def paired_scores(base: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """The rows both versions scored, one row each: columns `<name>_base` and `<name>_other`."""
    return base[SCORE_COLUMNS].merge(other[SCORE_COLUMNS], on="transaction_id", suffixes=("_base", "_other"))


def flag_overlap(paired: pd.DataFrame) -> list[dict]:
    """Per flag: rows each version flags, both, either, only one of them, and Jaccard (both / either;
    None when neither flags a row)."""
    rows = []
    for column, label in FLAG_COLUMNS.items():
        base = paired[f"{column}_base"].to_numpy(dtype=bool)
        other = paired[f"{column}_other"].to_numpy(dtype=bool)
        both, either = int((base & other).sum()), int((base | other).sum())
        rows.append(
            {
                "flag": label,
                "base": int(base.sum()),
                "other": int(other.sum()),
                "both": both,
                "only_base": int((base & ~other).sum()),
                "only_other": int((other & ~base).sum()),
                "jaccard": both / either if either else None,
            }
        )
    return rows


def top_count(rows: int, share: float = TOP_SHARE) -> int:
    """How many rows the top `share` of `rows` holds (rounded up; at least one when there are rows)."""
    return min(rows, math.ceil(share * rows))


def ranks(scores: np.ndarray, transaction_ids: np.ndarray) -> np.ndarray:
    """1-based rank of each row by score, highest first, ties by transaction id (as the review queue)."""
    order = np.lexsort((transaction_ids, -scores))
    out = np.empty(len(scores), dtype=np.int64)
    out[order] = np.arange(1, len(scores) + 1)
    return out


def top_share_changes(paired: pd.DataFrame, *, share: float = TOP_SHARE, listed: int = LISTED_ROWS) -> dict:
    """The rows entering the top `share` with the other version and those leaving it, among the rows
    both scored: counts and the first `listed` of each (entering by the other version's rank, leaving
    by the base version's), with both ranks and scores."""
    ids = paired["transaction_id"].to_numpy()
    top = top_count(len(paired), share)
    frame = paired.assign(
        rank_base=ranks(paired["anomaly_score_base"].to_numpy(), ids),
        rank_other=ranks(paired["anomaly_score_other"].to_numpy(), ids),
    )
    in_base, in_other = frame["rank_base"] <= top, frame["rank_other"] <= top
    columns = ["transaction_id", "rank_base", "rank_other", "anomaly_score_base", "anomaly_score_other"]
    entering = frame.loc[in_other & ~in_base, columns].sort_values("rank_other")
    leaving = frame.loc[in_base & ~in_other, columns].sort_values("rank_base")
    return {
        "top": top,
        "share": share,
        "kept": int((in_base & in_other).sum()),
        "entering_count": len(entering),
        "leaving_count": len(leaving),
        "entering": entering.head(listed).to_dict("records"),
        "leaving": leaving.head(listed).to_dict("records"),
    }
