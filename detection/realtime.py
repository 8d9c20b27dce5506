"""Scoring transactions posted in the source file's columns with a model version, optionally storing them.

Rows are validated by the same `clean_rows` that ingest uses and scored by the same `score_frame`
(point-in-time features) that training uses, against the training rows of their customers and
StockCodes (`ScoringBundle.past_for`; no retraining). With `store`,
the rows become a new ImportBatch of Transactions plus their TransactionScore rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction

from core.bulk import bulk_insert_frame
from transactions.cleaning import clean_rows
from transactions.models import ImportBatch
from transactions.plain_rows import plain_columns, plain_frame
from transactions.services import store_rows
from transactions.source import EXPECTED_COLUMNS

from .daily_counts import recount_days
from .errors import InvalidRows
from .models import ModelVersion, TransactionScore
from .posted_scoring import score_plain
from .score_writes import score_table
from .scoring import score_posted
from .services import scoring_bundle
from .signals import scores_written

MAX_ROWS = 1_000


@dataclass(frozen=True)
class ScoredRows:
    """The scores of the posted rows, in the order posted, and where they were stored if at all.

    `rows` holds the typed source columns (invoice_no, stock_code, description, quantity,
    unit_price, invoice_date, customer_id, country) beside `score_frame`'s columns, plus
    `stored` (inserted by this call) and `transaction_id` (None when not in the database).
    `table` is that frame, or the same columns as arrays (a few rows scored without pandas): read
    them through `columns`, `records` and `flagged`, which build no frame.
    """

    version: ModelVersion
    table: pd.DataFrame | dict[str, Any]
    batch: ImportBatch | None

    @cached_property
    def rows(self) -> pd.DataFrame:
        return self.table if isinstance(self.table, pd.DataFrame) else pd.DataFrame(self.table)

    @property
    def columns(self) -> pd.DataFrame | dict[str, Any]:
        """The columns by name (the frame itself, or the arrays)."""
        return self.table

    def records(self) -> list[dict[str, Any]]:
        """One {column: value} per row."""
        if isinstance(self.table, pd.DataFrame):
            return self.table.to_dict("records")
        names = list(self.table)
        return [dict(zip(names, values, strict=True)) for values in zip(*self.table.values(), strict=True)]

    @property
    def flagged(self) -> int:
        return int(np.asarray(self.table["is_flagged"], dtype=bool).sum())


def score_rows(
    records: Sequence[Mapping[str, str]],
    *,
    version: ModelVersion,
    store: bool = False,
    source_name: str = "api",
) -> ScoredRows:
    """Validate, score and (with `store`) save 1..MAX_ROWS rows given as {source column: text}.

    Raises InvalidRows naming each bad row (unparseable field, missing CustomerID, exact copy of an
    earlier row) and writes nothing then. With `store`, rows already loaded (same fingerprint) are
    scored but not stored again. Raises ArtifactError when the version's model files are unusable.
    """
    if not 1 <= len(records) <= MAX_ROWS:
        raise ValueError(f"between 1 and {MAX_ROWS} rows can be scored at once, not {len(records)}")
    plain = plain_columns(records)  # a few well-formed rows, without the vectorised set-up
    typed = _validated(records) if plain is None else None
    bundle = scoring_bundle(version)
    if typed is None:
        scored = None if store else score_plain(plain, bundle)
        if scored is not None:
            return ScoredRows(version=version, table=scored, batch=None)
        typed = plain_frame(plain)
        if typed is None:  # two rows' fingerprints are equal: ingest's cleaning says what to do
            typed = _validated(records)
    frame = _scoring_frame(typed)
    scores = score_posted(frame, bundle)
    rows = pd.concat(
        [typed[["invoice_no", "stock_code", "description", "quantity", "unit_price"]], scores], axis=1
    ).reset_index(drop=True)
    rows["transaction_id"] = None
    rows["stored"] = False
    batch = None
    if store:
        batch, transaction_ids, inserted = _store(typed, scores, version, records, source_name)
        rows["transaction_id"] = transaction_ids
        rows["stored"] = inserted
    return ScoredRows(version=version, table=rows, batch=batch)


def _validated(records: Sequence[Mapping[str, str]]) -> pd.DataFrame:
    """Return the typed rows of `records` (index = position); raise InvalidRows on any bad row."""
    raw = pd.DataFrame(
        {
            column: ["" if row.get(column) is None else str(row.get(column)) for row in records]
            for column in EXPECTED_COLUMNS
        }
    )
    raw["line_number"] = np.arange(1, len(raw) + 1)
    cleaned = clean_rows(raw)
    errors = dict(zip((cleaned.quarantined["line_number"] - 1).tolist(), cleaned.quarantined["reason"], strict=True))
    typed = cleaned.rows
    for position in typed.index[typed["customer_id"].isna()]:
        errors[int(position)] = "missing CustomerID: scoring needs the customer"
    for position in raw.index.difference(typed.index).difference(pd.Index(list(errors))):
        errors[int(position)] = "an exact copy of an earlier row: send each transaction once"
    if errors:
        raise InvalidRows(dict(sorted(errors.items())))
    return typed


def _scoring_frame(typed: pd.DataFrame) -> pd.DataFrame:
    """The rows in the shape of `transactions.selectors.transactions_frame` (no ids yet)."""
    return pd.DataFrame(
        {
            "transaction_id": np.zeros(len(typed), dtype=np.int64),
            "invoice_no": typed["invoice_no"],
            "stock_code": typed["stock_code"],
            "quantity": typed["quantity"].astype("int64"),
            "unit_price": typed["unit_price"].astype("float64"),
            "invoice_date": typed["invoice_date"].dt.tz_convert("UTC"),
            "customer_id": typed["customer_id"].astype("int64"),
            "country": typed["country"],
        },
        index=typed.index,
    )


def _store(
    typed: pd.DataFrame,
    scores: pd.DataFrame,
    version: ModelVersion,
    records: Sequence[Mapping[str, str]],
    source_name: str,
) -> tuple[ImportBatch, np.ndarray, np.ndarray]:
    """Store the rows not loaded before (one ingest write path) and their scores, in one transaction.

    Returns the batch, every row's transaction id and whether this call inserted the row.
    """
    payload = json.dumps(list(records), sort_keys=True, separators=(",", ":")).encode()
    with transaction.atomic():
        stored = store_rows(typed, source_name=source_name, payload=payload)
        inserted = scores[stored.inserted].assign(transaction_id=stored.transaction_ids[stored.inserted])
        table = score_table(version, inserted)
        bulk_insert_frame(TransactionScore, table)
        recount_days(version, table["invoice_date"])
        scores_written.send(sender=ModelVersion, version=version, transaction_ids=table["transaction_id"].tolist())
    return stored.batch, stored.transaction_ids, stored.inserted
