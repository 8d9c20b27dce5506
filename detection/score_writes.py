"""Storing score rows: a version's `score_frame` rows into TransactionScore, chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from django.db import connection

from core.bulk import bulk_insert_frame
from core.bulk_load import large_sqlite_cache
from transactions.models import Transaction

from .daily_counts import count_first_write, recount_days
from .fields import COPIED_KEYS, SCORE_COLUMNS, explanation_json_column
from .models import ModelVersion, TransactionScore

# Score rows turned into table rows (JSON text of the explanation lists) and inserted at a time:
# the table form of every row of a large version never exists at once.
WRITE_CHUNK_ROWS = 50_000
# Transactions read by id at a time when their ids are scattered (an IN list per query).
SCATTERED_READ_IDS = 10_000


def score_table(version: ModelVersion | int, scores: pd.DataFrame) -> pd.DataFrame:
    """Return `scores` as TransactionScore columns under `version`: the explanation lists as JSON text,
    and the transaction's COPIED_KEYS columns read from the stored transactions."""
    table = scores[SCORE_COLUMNS].copy()
    table["explanation"] = explanation_json_column(table["explanation"])
    table["flag_reasons"] = explanation_json_column(table["flag_reasons"])
    table.insert(0, "model_version_id", getattr(version, "pk", version))
    copied = transaction_columns(table["transaction_id"].to_numpy(np.int64))
    for key in COPIED_KEYS:
        table[key] = copied[key].to_numpy()
    return table


def transaction_columns(ids: np.ndarray) -> pd.DataFrame:
    """The COPIED_KEYS columns of the stored transactions `ids`, one row per id in that order.

    Raw rows, as the database stores them (no ORM converters: 1.3 s instead of 2.6 s for a training
    run's 401,604 on SQLite), written back unchanged into columns of the same types. Ids close
    together (a training run's or a chunk's, in id order) are read as one id range; scattered ones
    SCATTERED_READ_IDS at a time. KeyError names an id with no transaction.
    """
    quote = connection.ops.quote_name
    columns = ["id", *COPIED_KEYS]
    select = f"SELECT {', '.join(map(quote, columns))} FROM {quote(Transaction._meta.db_table)} WHERE "
    found: list[tuple] = []
    with connection.cursor() as cursor:
        if ids.size and int(ids.max()) - int(ids.min()) < 2 * ids.size:
            cursor.execute(select + "id BETWEEN %s AND %s", [int(ids.min()), int(ids.max())])
            found = cursor.fetchall()
        else:
            for start in range(0, ids.size, SCATTERED_READ_IDS):
                part = ids[start : start + SCATTERED_READ_IDS].tolist()
                cursor.execute(select + f"id IN ({', '.join(['%s'] * len(part))})", part)
                found.extend(cursor.fetchall())
    return pd.DataFrame.from_records(found, columns=columns).set_index("id").loc[ids]


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
    written = insert_scores(version, scores, progress, ignore_conflicts=ignore_conflicts)
    if first_write:
        count_first_write(version, scores)
    else:
        recount_days(version, scores["invoice_date"])
    return written


def insert_scores(
    version: ModelVersion | int,
    scores: pd.DataFrame,
    progress: Callable[[float], None] | None = None,
    *,
    ignore_conflicts: bool = False,
) -> int:
    """Insert `score_frame` rows under `version`, WRITE_CHUNK_ROWS at a time, without counting them
    (the caller keeps the daily counts); return the count inserted."""
    progress = progress or (lambda fraction: None)
    written = 0
    with large_sqlite_cache():
        for start in range(0, len(scores), WRITE_CHUNK_ROWS):
            table = score_table(version, scores.iloc[start : start + WRITE_CHUNK_ROWS])
            written += bulk_insert_frame(
                TransactionScore, table, chunk_size=WRITE_CHUNK_ROWS, ignore_conflicts=ignore_conflicts
            )
            progress(min(start + WRITE_CHUNK_ROWS, len(scores)) / len(scores))
    return written
