"""What each chunk of a source file adds to a batch: new rows, quarantined rows and counts.

Pure numpy and pandas, no ORM: `plan_chunks` may run in a child process (or a worker thread) ahead
of the one that writes the rows (see `core.ahead_process`). Rows are told apart by fingerprint: a
row seen in an earlier chunk of the file is a duplicate, a row already stored is counted as existing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import summaries
from .cleaning import clean_rows
from .source import SourceChunk

# The Transaction columns a batch writes, in order (the id is the database's).
TRANSACTION_COLUMNS = [
    "invoice_no",
    "stock_code",
    "description",
    "quantity",
    "invoice_date",
    "unit_price",
    "customer_id",
    "country",
    "is_cancellation",
    "batch_id",
    "line_number",
    "fingerprint",
]


@dataclass(frozen=True)
class ChunkPlan:
    """The rows one chunk adds (Transaction and QuarantinedRow columns) and what became of its lines."""

    transactions: pd.DataFrame  # TRANSACTION_COLUMNS
    quarantined: pd.DataFrame  # batch_id, line_number, raw, reason
    customer_ids: np.ndarray  # distinct customers of the new rows
    invoice_lines: pd.DataFrame | None  # summaries.invoice_lines of the new rows, when asked for
    lines_read: int
    duplicate: int
    existing: int
    without_customer: int


def plan_chunks(
    chunks: Iterable[SourceChunk], *, batch_id: int, stored: np.ndarray, with_invoice_lines: bool
) -> Iterator[ChunkPlan]:
    """Yield the plan of each chunk in turn; `stored` holds the table's fingerprints, sorted."""
    seen = np.zeros(0, dtype=np.int64)  # sorted fingerprints of the rows of earlier chunks
    for chunk in chunks:
        cleaned = clean_rows(chunk.rows)
        fingerprints = cleaned.rows["fingerprint"].to_numpy()
        earlier = isin_sorted(fingerprints, seen)
        existing = isin_sorted(fingerprints, stored) & ~earlier
        new_rows = cleaned.rows[~earlier & ~existing]
        seen = np.sort(np.concatenate([seen, fingerprints[~earlier]]), kind="stable")
        yield ChunkPlan(
            transactions=new_rows.assign(batch_id=batch_id)[TRANSACTION_COLUMNS],
            quarantined=quarantined_rows(batch_id, chunk, cleaned.quarantined),
            customer_ids=new_rows["customer_id"].dropna().unique().astype(np.int64),
            invoice_lines=summaries.invoice_lines(new_rows) if with_invoice_lines else None,
            lines_read=chunk.lines_read,
            duplicate=cleaned.duplicates + int(earlier.sum()),
            existing=int(existing.sum()),
            without_customer=int(new_rows["customer_id"].isna().sum()),
        )


def quarantined_rows(batch_id: int, chunk: SourceChunk, refused: pd.DataFrame) -> pd.DataFrame:
    """Return the chunk's bad lines and refused rows as QuarantinedRow columns, in line order."""
    refused = refused.assign(raw=chunk.raw_text(refused["line_number"].to_numpy()))
    rows = pd.concat([chunk.bad_lines, refused[["line_number", "raw", "reason"]]], ignore_index=True)
    rows = rows.sort_values("line_number", kind="stable")
    return pd.DataFrame(
        {
            "batch_id": batch_id,
            "line_number": rows["line_number"].to_numpy(dtype=np.int64),
            "raw": rows["raw"].to_numpy(),
            "reason": rows["reason"].str.slice(0, 255).to_numpy(),
        }
    )


def isin_sorted(values: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """Return whether each of `values` is in the sorted array `sorted_values`."""
    if len(sorted_values) == 0:
        return np.zeros(len(values), dtype=bool)
    index = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return sorted_values[index] == values
