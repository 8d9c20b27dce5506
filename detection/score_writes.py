"""Storing score rows: a version's `score_frame` rows into TransactionScore, chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from core.bulk import bulk_insert_frame
from core.bulk_load import large_sqlite_cache

from .daily_counts import count_first_write, recount_days
from .fields import SCORE_COLUMNS, explanation_json_column
from .models import ModelVersion, TransactionScore

# Score rows turned into table rows (JSON text of the explanation lists) and inserted at a time:
# the table form of every row of a large version never exists at once.
WRITE_CHUNK_ROWS = 50_000


def score_table(version: ModelVersion | int, scores: pd.DataFrame) -> pd.DataFrame:
    """Return `scores` as TransactionScore columns under `version`: the explanation lists as JSON text."""
    table = scores[SCORE_COLUMNS].copy()
    table["explanation"] = explanation_json_column(table["explanation"])
    table["flag_reasons"] = explanation_json_column(table["flag_reasons"])
    table.insert(0, "model_version_id", getattr(version, "pk", version))
    return table


def write_scores(
    version: ModelVersion,
    scores: pd.DataFrame,
    progress: Callable[[float], None] | None = None,
    *,
    ignore_conflicts: bool = False,
    first_write: bool = False,
) -> int:
    """Insert `score_frame` rows under `version` and recount its daily counts; return the count inserted.

    With `ignore_conflicts`, rows already scored under `version` are skipped (a retried chunk). With
    `first_write` (a training run writing every row of its new version), the daily counts are counted
    from `scores` instead of from the table. Rows are converted and inserted WRITE_CHUNK_ROWS at a time.
    """
    progress = progress or (lambda fraction: None)
    written = 0
    with large_sqlite_cache():
        for start in range(0, len(scores), WRITE_CHUNK_ROWS):
            table = score_table(version, scores.iloc[start : start + WRITE_CHUNK_ROWS])
            written += bulk_insert_frame(
                TransactionScore, table, chunk_size=WRITE_CHUNK_ROWS, ignore_conflicts=ignore_conflicts
            )
            progress(min(start + WRITE_CHUNK_ROWS, len(scores)) / len(scores))
    if first_write:
        count_first_write(version, scores)
    else:
        recount_days(version, scores["invoice_date"])
    return written
