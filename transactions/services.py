"""Write paths for loaded data: ingesting a source file, refreshing customer summaries."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from core.ahead_process import ahead_in_child
from core.bulk import bulk_insert_frame, upsert_frame
from core.bulk_load import bulk_load, refresh_statistics

from . import summaries
from .customer_list import customers_changed
from .load_plan import TRANSACTION_COLUMNS, plan_chunks
from .models import Customer, ImportBatch, QuarantinedRow, Transaction
from .source import Limits, SourceChunk, SourceError, inspect_source, iter_chunks

logger = logging.getLogger(__name__)

# stage name, rows done in this call, total rows of the stage
ProgressCallback = Callable[[str, int, int], None]

MAX_CUSTOMERS_FILTERED = 2_000

__all__ = [
    "IngestAccountingError",
    "IngestOutcome",
    "SourceError",
    "StoredRows",
    "ingest_file",
    "refresh_customers",
    "store_rows",
]


class IngestAccountingError(RuntimeError):
    """The lines read and the rows loaded, dropped and quarantined do not add up: nothing is kept."""


@dataclass
class LineTally:
    """What became of a file's data lines; every line ends in exactly one of the counts."""

    read: int
    loaded: int = 0
    duplicate: int = 0
    existing: int = 0
    quarantined: int = 0
    without_customer: int = 0

    def add(self, *, loaded: int, duplicate: int, existing: int, quarantined: int, without_customer: int) -> None:
        self.loaded += loaded
        self.duplicate += duplicate
        self.existing += existing
        self.quarantined += quarantined
        self.without_customer += without_customer

    def check(self) -> None:
        """Raise IngestAccountingError unless loaded + duplicate + existing + quarantined == read."""
        accounted = self.loaded + self.duplicate + self.existing + self.quarantined
        if accounted != self.read:
            raise IngestAccountingError(
                f"{self.read:,} lines read but {accounted:,} accounted for ({self.loaded:,} loaded, "
                f"{self.duplicate:,} duplicates, {self.existing:,} already loaded, "
                f"{self.quarantined:,} quarantined): nothing was written"
            )


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


def ingest_limits() -> Limits:
    """Return the source file limits from the INGEST_* settings."""
    defaults = Limits()
    return Limits(
        max_decompressed_bytes=getattr(settings, "INGEST_MAX_DECOMPRESSED_BYTES", defaults.max_decompressed_bytes),
        max_line_bytes=getattr(settings, "INGEST_MAX_LINE_BYTES", defaults.max_line_bytes),
        max_fields=getattr(settings, "INGEST_MAX_FIELDS", defaults.max_fields),
        max_compression_ratio=getattr(settings, "INGEST_MAX_COMPRESSION_RATIO", defaults.max_compression_ratio),
    )


def ingest_file(
    path: Path | str,
    *,
    encoding: str = "latin-1",
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> IngestOutcome:
    """Load the source file at `path` and return the outcome with its ImportBatch.

    Raises SourceError, writing nothing, when the file as a whole cannot be read (wrong header,
    encoding, no rows, a limit broken). Rows that fail validation are quarantined with their
    reason; rows already loaded (same fingerprint) are counted and skipped. A file whose sha256 was
    already ingested in full is not read again unless `force`. The file is read twice as a stream
    (first to check and count it, then to load it chunk by chunk), never whole; the rows of a batch
    are written in one transaction, which is rolled back when the lines do not all add up.
    """
    progress = progress or _noop
    path = Path(path)
    limits = ingest_limits()
    info = inspect_source(path, encoding=encoding, limits=limits)
    progress("validate", info.data_lines, info.data_lines)
    if not force:
        previous = ImportBatch.objects.filter(sha256=info.sha256, status=ImportBatch.Status.COMPLETED).first()
        if previous is not None:
            return IngestOutcome(batch=previous, already_ingested=True)

    batch = ImportBatch.objects.create(file_name=info.name, sha256=info.sha256, size_bytes=info.size_bytes)
    try:
        _load(batch, iter_chunks(path, info, limits=limits), info.data_lines, progress)
    except BaseException as exc:  # KeyboardInterrupt too: the batch is marked, its rows rolled back.
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000]
        )
        raise
    batch.refresh_from_db()
    return IngestOutcome(batch=batch, already_ingested=False)


def _load(batch: ImportBatch, chunks: Iterable[SourceChunk], lines_read: int, progress: ProgressCallback) -> None:
    """Write the rows of every chunk, then the batch's counts; raise IngestAccountingError on a gap.

    A forked child (a worker thread where none can be forked) reads, cleans and plans the next chunk
    while this process writes the current one.
    """
    tally = LineTally(read=lines_read)
    customer_ids: list[np.ndarray] = []
    # Into an empty table the customer summaries come from the loaded rows, not from reading them back.
    invoice_parts: list[pd.DataFrame] | None = None
    with transaction.atomic():
        stored = np.sort(_stored_fingerprints())  # read under the write lock: no writer can add rows
        if len(stored) == 0:
            invoice_parts = []
        plans = plan_chunks(chunks, batch_id=batch.pk, stored=stored, with_invoice_lines=invoice_parts is not None)
        with (
            bulk_load(Transaction, rows_to_add=lines_read, rows_stored=len(stored)) as without_indexes,
            ahead_in_child(plans, name="ingest-plan") as planned,
        ):
            for plan in planned:
                # With no index to update, the rows go straight in; else through a staging table.
                bulk_insert_frame(Transaction, plan.transactions, staged=not without_indexes, multirow=without_indexes)
                if len(plan.quarantined):
                    bulk_insert_frame(QuarantinedRow, plan.quarantined, staged=True)
                customer_ids.append(plan.customer_ids)
                if invoice_parts is not None:
                    invoice_parts.append(plan.invoice_lines)
                tally.add(
                    loaded=len(plan.transactions),
                    duplicate=plan.duplicate,
                    existing=plan.existing,
                    quarantined=len(plan.quarantined),
                    without_customer=plan.without_customer,
                )
                progress("load", plan.lines_read, lines_read)
        tally.check()
        refresh_customers(
            np.unique(np.concatenate(customer_ids)) if customer_ids else [],
            loaded_invoices=None if invoice_parts is None else summaries.merge_invoice_lines(invoice_parts),
        )
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.COMPLETED,
            finished_at=timezone.now(),
            rows_read=tally.read,
            rows_loaded=tally.loaded,
            rows_duplicate=tally.duplicate,
            rows_existing=tally.existing,
            rows_quarantined=tally.quarantined,
            rows_without_customer=tally.without_customer,
        )
    refresh_statistics(Transaction, Customer)


def _stored_fingerprints() -> np.ndarray:
    """Return every fingerprint already in the table, read in one streamed query."""
    stored = Transaction.objects.values_list("fingerprint", flat=True).order_by()
    return np.fromiter(stored.iterator(chunk_size=50_000), dtype=np.int64)


def refresh_customers(customer_ids, *, loaded_invoices: pd.DataFrame | None = None) -> int:
    """Recompute the summary rows of the given customers from their transactions; return the count.

    A customer's country is the one of most of their invoices (ties: alphabetical). With
    `loaded_invoices` (`summaries.merge_invoice_lines` of the rows just loaded, when the table held
    no other rows) the summaries are computed from it instead of read back from the table.
    """
    ids = {int(customer_id) for customer_id in customer_ids}
    if not ids:
        return 0
    if loaded_invoices is not None:
        per_country = summaries.per_country(loaded_invoices)
        invoices = summaries.invoice_counts(loaded_invoices)
    else:
        per_country, invoices = _stored_aggregates(ids)
    per_country = per_country[per_country["customer_id"].isin(ids)].assign(
        # datetime64 columns: the groupby below runs in C, not once per customer in Python.
        first_seen=lambda frame: pd.to_datetime(frame["first_seen"], utc=True),
        last_seen=lambda frame: pd.to_datetime(frame["last_seen"], utc=True),
    )
    usual = (
        per_country.sort_values(["customer_id", "invoices", "country"], ascending=[True, False, True])
        .drop_duplicates("customer_id")
        .set_index("customer_id")["country"]
    )
    summary = per_country.groupby("customer_id").agg(
        lines=("lines", "sum"), first_seen=("first_seen", "min"), last_seen=("last_seen", "max")
    )
    customers = pd.DataFrame(
        {
            "customer_id": summary.index.to_numpy(dtype=np.int64),
            "country": usual.reindex(summary.index),
            "first_seen": summary["first_seen"],
            "last_seen": summary["last_seen"],
            "invoice_count": invoices.reindex(summary.index, fill_value=0).astype(np.int64),
            "line_count": summary["lines"].astype(np.int64),
        }
    )
    # One upsert from the columns (no model instance per customer), in customer_id order.
    written = upsert_frame(
        Customer,
        customers,
        unique_fields=["customer_id"],
        update_fields=["country", "first_seen", "last_seen", "invoice_count", "line_count"],
    )
    customers_changed()  # the upsert sends no signal
    return written


def _stored_aggregates(ids: set[int]) -> tuple[pd.DataFrame, pd.Series]:
    """Return per (customer, country) aggregates and distinct invoices per customer, read from the table."""
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
        columns=summaries.PER_COUNTRY_COLUMNS,
    )
    invoices = pd.DataFrame.from_records(
        scope.values("customer_id").annotate(invoices=Count("invoice_no", distinct=True)).order_by(),
        columns=["customer_id", "invoices"],
    ).set_index("customer_id")["invoices"]
    return per_country, invoices


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
