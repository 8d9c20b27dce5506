"""Write paths for loaded data: ingesting a source file, refreshing customer summaries."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from core.bulk import bulk_insert_frame

from .cleaning import clean_rows
from .models import Customer, ImportBatch, QuarantinedRow, Transaction
from .source import SourceError, read_source

logger = logging.getLogger(__name__)

# stage name, rows done in this call, total rows of the stage
ProgressCallback = Callable[[str, int, int], None]

MAX_CUSTOMERS_FILTERED = 2_000
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

__all__ = ["IngestOutcome", "SourceError", "StoredRows", "ingest_file", "refresh_customers", "store_rows"]


@dataclass(frozen=True)
class IngestOutcome:
    """The batch that holds the file's rows, and whether this call added anything."""

    batch: ImportBatch
    already_ingested: bool

    @property
    def rows_added(self) -> int:
        return 0 if self.already_ingested else self.batch.rows_loaded


def _noop(stage: str, done: int, total: int) -> None:
    return None


def ingest_file(
    path: Path | str,
    *,
    encoding: str = "latin-1",
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> IngestOutcome:
    """Load the source file at `path` and return the outcome with its ImportBatch.

    Raises SourceError, writing nothing, when the file as a whole cannot be read (wrong header,
    encoding, no rows). Rows that fail validation are quarantined with their reason; rows already
    loaded (same fingerprint) are counted and skipped. A file whose sha256 was already ingested in
    full is not read again unless `force`. The rows of a batch are written in one transaction.
    """
    progress = progress or _noop
    path = Path(path)
    source = read_source(path, encoding=encoding)
    if not force:
        previous = ImportBatch.objects.filter(sha256=source.sha256, status=ImportBatch.Status.COMPLETED).first()
        if previous is not None:
            return IngestOutcome(batch=previous, already_ingested=True)

    batch = ImportBatch.objects.create(file_name=source.name, sha256=source.sha256, size_bytes=source.size_bytes)
    try:
        _load(batch, source, progress)
    except BaseException as exc:  # KeyboardInterrupt too: the batch is marked, its rows rolled back.
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000]
        )
        raise
    batch.refresh_from_db()
    return IngestOutcome(batch=batch, already_ingested=False)


def _load(batch: ImportBatch, source, progress: ProgressCallback) -> None:
    rows_read = len(source.rows) + len(source.bad_lines)
    progress("validate", 0, rows_read)
    cleaned = clean_rows(source.rows)
    progress("validate", rows_read, rows_read)

    rows = cleaned.rows
    existing = np.isin(rows["fingerprint"].to_numpy(), _stored_fingerprints())
    new_rows = rows[~existing]
    quarantined = pd.concat([source.bad_lines[["line_number", "reason"]], cleaned.quarantined], ignore_index=True)
    quarantined = quarantined.sort_values("line_number", kind="stable")

    with transaction.atomic():
        table = new_rows.assign(batch_id=batch.pk)
        bulk_insert_frame(
            Transaction,
            table[TRANSACTION_COLUMNS],
            progress=lambda n: progress("load", n, len(table)),
        )
        if len(quarantined):
            bulk_insert_frame(
                QuarantinedRow,
                pd.DataFrame(
                    {
                        "batch_id": batch.pk,
                        "line_number": quarantined["line_number"].to_numpy(),
                        "raw": source.raw_text(quarantined["line_number"].to_numpy()),
                        "reason": quarantined["reason"].str.slice(0, 255).to_numpy(),
                    }
                ),
            )
        customer_ids = new_rows["customer_id"].dropna().unique()
        refresh_customers(customer_ids)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.COMPLETED,
            finished_at=timezone.now(),
            rows_read=rows_read,
            rows_loaded=len(new_rows),
            rows_duplicate=cleaned.duplicates,
            rows_existing=int(existing.sum()),
            rows_quarantined=len(quarantined),
            rows_without_customer=int(new_rows["customer_id"].isna().sum()),
        )


def _stored_fingerprints() -> np.ndarray:
    """Return every fingerprint already in the table, read in one streamed query."""
    stored = Transaction.objects.values_list("fingerprint", flat=True).order_by()
    return np.fromiter(stored.iterator(chunk_size=50_000), dtype=np.int64)


def refresh_customers(customer_ids) -> int:
    """Recompute the summary rows of the given customers from their transactions; return the count.

    A customer's country is the one of most of their invoices (ties: alphabetical).
    """
    ids = {int(customer_id) for customer_id in customer_ids}
    if not ids:
        return 0
    # A few customers (an update file, a scored API batch) are aggregated alone; many, in one
    # pass over the table, which stays within SQLite's limit on query parameters.
    scope = Transaction.objects.filter(customer__isnull=False)
    if len(ids) <= MAX_CUSTOMERS_FILTERED:
        scope = scope.filter(customer_id__in=ids)
    per_country = pd.DataFrame.from_records(
        scope.values("customer_id", "country")
        .annotate(
            invoices=Count("invoice_no", distinct=True),
            lines=Count("id"),
            first_seen=Min("invoice_date"),
            last_seen=Max("invoice_date"),
        )
        .order_by(),
        columns=["customer_id", "country", "invoices", "lines", "first_seen", "last_seen"],
    )
    per_country = per_country[per_country["customer_id"].isin(ids)]
    usual = (
        per_country.sort_values(["customer_id", "invoices", "country"], ascending=[True, False, True])
        .drop_duplicates("customer_id")
        .set_index("customer_id")["country"]
    )
    invoices = pd.DataFrame.from_records(
        scope.values("customer_id").annotate(invoices=Count("invoice_no", distinct=True)).order_by(),
        columns=["customer_id", "invoices"],
    ).set_index("customer_id")["invoices"]
    summary = per_country.groupby("customer_id").agg(
        lines=("lines", "sum"), first_seen=("first_seen", "min"), last_seen=("last_seen", "max")
    )
    customers = [
        Customer(
            customer_id=int(customer_id),
            country=usual[customer_id],
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            invoice_count=int(invoices.get(customer_id, 0)),
            line_count=int(row.lines),
        )
        for customer_id, row in summary.iterrows()
    ]
    Customer.objects.bulk_create(
        customers,
        batch_size=2_000,
        update_conflicts=True,
        unique_fields=["customer_id"],
        update_fields=["country", "first_seen", "last_seen", "invoice_count", "line_count"],
    )
    return len(customers)


@dataclass(frozen=True)
class StoredRows:
    """Where cleaned rows went: their batch, each row's transaction id, and whether this call inserted it."""

    batch: ImportBatch
    transaction_ids: np.ndarray
    inserted: np.ndarray


def store_rows(typed: pd.DataFrame, *, source_name: str, payload: bytes) -> StoredRows:
    """Store cleaned rows (`clean_rows` output) not loaded before as one completed batch; return where they went.

    Rows whose fingerprint is already loaded are not stored again; `payload` (the rows as received)
    gives the batch its sha256 and size. Call inside the caller's transaction to add more writes.
    """
    fingerprints = typed["fingerprint"]
    with transaction.atomic():
        ids = dict(Transaction.objects.filter(fingerprint__in=fingerprints.tolist()).values_list("fingerprint", "id"))
        inserted = ~fingerprints.isin(list(ids)).to_numpy()
        batch = ImportBatch.objects.create(
            file_name=source_name,
            sha256=hashlib.sha256(payload).hexdigest(),
            size_bytes=len(payload),
            status=ImportBatch.Status.COMPLETED,
            finished_at=timezone.now(),
            rows_read=len(typed),
            rows_loaded=int(inserted.sum()),
            rows_existing=int((~inserted).sum()),
        )
        new_rows = typed[inserted].assign(batch_id=batch.pk)
        bulk_insert_frame(Transaction, new_rows[TRANSACTION_COLUMNS])
        refresh_customers(new_rows["customer_id"].unique())
        ids.update(Transaction.objects.filter(batch=batch).values_list("fingerprint", "id"))
    return StoredRows(batch=batch, transaction_ids=fingerprints.map(ids).astype(object).to_numpy(), inserted=inserted)
