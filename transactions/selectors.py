"""Read paths for loaded data: customer look-ups and the scoreable transactions as a DataFrame."""

from __future__ import annotations

from itertools import islice
from typing import Any

import pandas as pd
from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from core.prepared import INT_MARKERS, PreparedQuery, in_integer_range

from .customer_list import customer_ids, customer_ids_read  # noqa: F401  (read here by the API, the dashboard and bench/)
from .models import Customer, Transaction

SCOREABLE_COLUMNS = [
    "id",
    "invoice_no",
    "stock_code",
    "quantity",
    "unit_price",
    "invoice_date",
    "customer_id",
    "country",
]
# Rows read and typed at a time: the raw tuples (a Python object per value, about 0.5 KB a row)
# exist for one chunk only, not for the whole table.
FRAME_CHUNK_ROWS = 50_000
# Text columns with few distinct values (an invoice's lines, a StockCode's sales, a country's rows):
# each distinct string is kept once and shared by its rows instead of one string object per row.
SHARED_TEXT_COLUMNS = ("invoice_no", "stock_code", "country")


def scoreable_transactions() -> QuerySet[Transaction]:
    """Transactions that can be scored: every loaded row with a CustomerID."""
    return Transaction.objects.filter(customer__isnull=False)


def transactions_frame(queryset: QuerySet[Transaction] | None = None) -> pd.DataFrame:
    """Return `queryset` (default: all scoreable rows) as a DataFrame, read in one streamed query.

    Columns: transaction_id, invoice_no, stock_code, quantity, unit_price (float), invoice_date
    (UTC, timezone-aware), customer_id, country; ordered by id. The rows are typed FRAME_CHUNK_ROWS
    at a time, and equal strings of SHARED_TEXT_COLUMNS are one object.
    """
    queryset = scoreable_transactions() if queryset is None else queryset
    rows = queryset.order_by("id").values_list(*SCOREABLE_COLUMNS).iterator(chunk_size=FRAME_CHUNK_ROWS)
    parts = []
    while chunk := list(islice(rows, FRAME_CHUNK_ROWS)):
        parts.append(_typed(pd.DataFrame.from_records(chunk, columns=SCOREABLE_COLUMNS)))
        del chunk
    if not parts:
        return _typed(pd.DataFrame.from_records([], columns=SCOREABLE_COLUMNS))
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    del parts
    for column in SHARED_TEXT_COLUMNS:
        frame[column] = shared_strings(frame[column])
    return frame


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Give raw `values_list` rows their frame column names and types."""
    frame = frame.rename(columns={"id": "transaction_id"})
    frame["unit_price"] = frame["unit_price"].astype("float64")
    frame["quantity"] = frame["quantity"].astype("int64")
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], utc=True)
    if len(frame):
        frame["customer_id"] = frame["customer_id"].astype("int64")
    for column in SHARED_TEXT_COLUMNS:
        frame[column] = shared_strings(frame[column])
    return frame


def shared_strings(values: pd.Series) -> pd.Series:
    """Return `values` (same dtype, index and name) with each distinct value held by one object."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    return pd.Series(uniques[codes], index=values.index, name=values.name, dtype=values.dtype)


# A customer's id if it is one: compiled once (/api/anomalies asks it for every customer without rows).
_CUSTOMER_BY_ID = PreparedQuery(
    Customer, lambda pk: Customer.objects.filter(pk=pk).values_list("pk")[:1], INT_MARKERS[0]
)


def customer_exists(customer_id: int) -> bool:
    """Whether `customer_id` is a customer of the loaded data (scored or not)."""
    return in_integer_range(Customer, "customer_id", customer_id) and _CUSTOMER_BY_ID.first(customer_id) is not None


def search_customers(prefix: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Customers whose CustomerID starts with the digits `prefix`, as {customer_id, country}, lowest first."""
    digits = "".join(char for char in prefix if char.isdigit())
    if not digits:
        return []
    matches = (
        Customer.objects.annotate(id_text=Cast("customer_id", CharField()))
        .filter(id_text__startswith=digits)
        .order_by("customer_id")
        .values("customer_id", "country")
    )
    return list(matches[:limit])


def source_row(transaction: Transaction) -> dict[str, Any]:
    """A loaded transaction in the source file's columns, as a client posts it to /api/score."""
    local = timezone.localtime(transaction.invoice_date)
    return {
        "InvoiceNo": transaction.invoice_no,
        "StockCode": transaction.stock_code,
        "Description": transaction.description,
        "Quantity": transaction.quantity,
        "InvoiceDate": f"{local.month}/{local.day}/{local.year} {local.hour}:{local.minute:02d}",
        "UnitPrice": float(transaction.unit_price),
        "CustomerID": transaction.customer_id,
        "Country": transaction.country,
    }
