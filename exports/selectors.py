"""Read paths for exports: the columns of an exported score row and the rows of each export, lazily."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from detection.fields import explanation_text
from detection.models import TransactionScore
from detection.selectors import ranked_anomalies, require_active_model_version, scores_for

# (header, ORM path) per exported column; payload names as in the API where one exists.
COLUMNS: list[tuple[str, str]] = [
    ("TransactionID", "transaction_id"),
    ("InvoiceNo", "transaction__invoice_no"),
    ("InvoiceDate", "invoice_date"),
    ("CustomerID", "customer_id"),
    ("StockCode", "transaction__stock_code"),
    ("Description", "transaction__description"),
    ("Quantity", "transaction__quantity"),
    ("UnitPrice", "transaction__unit_price"),
    ("Country", "country"),
    ("TotalSpent", "total_spent"),
    ("ZScore", "zscore"),
    ("anomaly_score", "anomaly_score"),
    ("RiskScore", "risk_score"),
    ("IsolationForestFlag", "iso_forest_flag"),
    ("AutoencoderFlag", "autoencoder_flag"),
    ("FlaggedByBoth", "is_common_anomaly"),
    ("ReviewStatus", "transaction__review__status"),
    ("Analyst", "transaction__review__analyst__username"),
    ("Explanation", "explanation"),
]
HEADERS = [header for header, _ in COLUMNS]
EXPLANATION = HEADERS.index("Explanation")
REVIEW_STATUS = HEADERS.index("ReviewStatus")
CHUNK_ROWS = 2000


@dataclass(frozen=True)
class ExportTable:
    """An export's file name stem, headers and rows (an iterator: read once, while writing)."""

    name: str
    headers: list[str]
    rows: Iterator[tuple[Any, ...]]


def score_rows(queryset: QuerySet[TransactionScore]) -> Iterator[tuple[Any, ...]]:
    """The rows of `queryset` as COLUMNS tuples, fetched CHUNK_ROWS at a time in its own order."""
    values = queryset.values_list(*(path for _, path in COLUMNS)).iterator(chunk_size=CHUNK_ROWS)
    for row in values:
        row = list(row)
        row[EXPLANATION] = explanation_text(row[EXPLANATION])
        row[REVIEW_STATUS] = row[REVIEW_STATUS] or "new"
        yield tuple(row)


def queue_export(queryset: QuerySet[TransactionScore]) -> ExportTable:
    """The review queue as filtered and ordered in the admin (the changelist's queryset)."""
    return ExportTable("review-queue", HEADERS, score_rows(queryset))


def drilldown_export(*, metric: str, customer_id: int | None) -> ExportTable:
    """The dashboard's drill-down: the top flagged rows of the customer (or everyone) by `metric`."""
    version = require_active_model_version()
    ranked = [
        row["transaction_id"] for row in ranked_anomalies(metric=metric, customer_id=customer_id, version=version)
    ]
    position = {transaction_id: index for index, transaction_id in enumerate(ranked)}
    rows = sorted(score_rows(scores_for(version).filter(transaction_id__in=ranked)), key=lambda row: position[row[0]])
    whose = f"customer-{customer_id}" if customer_id is not None else "all-customers"
    return ExportTable(f"drilldown-{whose}-{metric}", HEADERS, iter(rows))


def customer_transactions_export(customer_id: int) -> ExportTable:
    """Every scored row of the customer under the active model, oldest first."""
    queryset = scores_for(require_active_model_version()).filter(customer_id=customer_id).order_by("invoice_date", "id")
    return ExportTable(f"customer-{customer_id}-transactions", HEADERS, score_rows(queryset))
