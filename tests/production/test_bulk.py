"""bulk_insert_frame on the database in use (SQLite, or PostgreSQL's COPY under DATABASE_URL)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.db import connection

from core import bulk
from transactions.models import Customer, ImportBatch, QuarantinedRow, Transaction

pytestmark = pytest.mark.django_db

AWKWARD_TEXT = ["\\N", 'say "hi", twice', "tab\there", "two\nlines", "", "CRÈME CAFÉ", "back\\slash"]


def _rows(batch: ImportBatch, fingerprints, customer_ids) -> pd.DataFrame:
    count = len(fingerprints)
    return pd.DataFrame(
        {
            "invoice_no": [f"5{i:05d}" for i in range(count)],
            "stock_code": "85123A",
            "description": [AWKWARD_TEXT[i % len(AWKWARD_TEXT)] for i in range(count)],
            "quantity": np.arange(count) - 2,
            "invoice_date": pd.Timestamp("2011-06-30 23:30", tz="Europe/London")
            + pd.to_timedelta(np.arange(count), "h"),
            "unit_price": [Decimal("2.550"), Decimal("0.001")] * (count // 2) + [Decimal("7")] * (count % 2),
            "customer_id": customer_ids,
            "country": "United Kingdom",
            "is_cancellation": np.arange(count) % 3 == 0,
            "batch_id": batch.pk,
            "line_number": np.arange(count) + 2,
            "fingerprint": fingerprints,
        }
    )


@pytest.fixture
def batch() -> ImportBatch:
    Customer.objects.create(
        customer_id=12346,
        country="United Kingdom",
        first_seen=pd.Timestamp("2011-01-01", tz="UTC"),
        last_seen=pd.Timestamp("2011-01-01", tz="UTC"),
    )
    return ImportBatch.objects.create(file_name="x.csv", sha256="0" * 64)


@pytest.mark.parametrize("staged", [False, True])
def test_values_round_trip_exactly(batch: ImportBatch, staged: bool) -> None:
    # customer_id is float because of the missing value, as pandas makes it: stored as integers / NULL.
    customers = [12346.0 if i % 2 else np.nan for i in range(14)]
    frame = _rows(batch, np.arange(14, dtype=np.int64) - 7, customers)

    assert bulk.bulk_insert_frame(Transaction, frame, chunk_size=5, staged=staged) == 14

    stored = list(Transaction.objects.order_by("line_number"))
    assert [t.description for t in stored] == frame["description"].tolist()
    assert [t.quantity for t in stored] == frame["quantity"].tolist()
    assert [t.unit_price for t in stored] == frame["unit_price"].tolist()
    assert [t.invoice_date for t in stored] == [ts.to_pydatetime() for ts in frame["invoice_date"]]
    assert [t.customer_id for t in stored] == [12346 if i % 2 else None for i in range(14)]
    assert [t.is_cancellation for t in stored] == frame["is_cancellation"].tolist()
    assert [t.fingerprint for t in stored] == frame["fingerprint"].tolist()


@pytest.mark.parametrize("staged", [False, True])
def test_text_field_keeps_quotes_newlines_and_backslashes(batch: ImportBatch, staged: bool) -> None:
    raw = ['a,"b"\\N', "\\N", "line\r\nbreak\ttab", "x" * 5000]
    frame = pd.DataFrame({"batch_id": batch.pk, "line_number": range(len(raw)), "raw": raw, "reason": "r"})

    bulk.bulk_insert_frame(QuarantinedRow, frame, staged=staged)

    assert list(QuarantinedRow.objects.order_by("line_number").values_list("raw", flat=True)) == raw


@pytest.mark.parametrize("staged", [False, True])
def test_ignore_conflicts_skips_stored_rows_and_counts_only_new_ones(batch: ImportBatch, staged: bool) -> None:
    first = _rows(batch, np.arange(10, dtype=np.int64), 12346)
    bulk.bulk_insert_frame(Transaction, first)
    again = _rows(batch, np.arange(5, 15, dtype=np.int64), 12346)

    inserted = bulk.bulk_insert_frame(Transaction, again, ignore_conflicts=True, chunk_size=4, staged=staged)

    assert inserted == 5
    assert Transaction.objects.count() == 15
    assert sorted(Transaction.objects.values_list("fingerprint", flat=True)) == list(range(15))


@pytest.mark.parametrize("staged", [False, True])
def test_conflict_without_the_option_raises_and_the_transaction_rolls_back(batch: ImportBatch, staged: bool) -> None:
    from django.db import IntegrityError, transaction

    bulk.bulk_insert_frame(Transaction, _rows(batch, np.arange(3, dtype=np.int64), 12346))
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.bulk_insert_frame(Transaction, _rows(batch, np.arange(2, 6, dtype=np.int64), 12346), staged=staged)

    assert Transaction.objects.count() == 3


def test_postgres_uses_copy(batch: ImportBatch, monkeypatch) -> None:
    calls = {"copy": 0, "executemany": 0}
    real_copy, real_many = bulk._copy_postgres, bulk._executemany

    def count(name, real):
        def wrapped(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(bulk, "_copy_postgres", count("copy", real_copy))
    monkeypatch.setattr(bulk, "_executemany", count("executemany", real_many))

    bulk.bulk_insert_frame(Transaction, _rows(batch, np.arange(6, dtype=np.int64), 12346), chunk_size=4)

    expected = {"copy": 2, "executemany": 0} if connection.vendor == "postgresql" else {"copy": 0, "executemany": 2}
    assert calls == expected


def test_unknown_column_is_named(batch: ImportBatch) -> None:
    with pytest.raises(ValueError, match="no_such_column"):
        bulk.bulk_insert_frame(Transaction, pd.DataFrame({"no_such_column": [1]}))


def _stored_customers() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Customer._meta.db_table} ORDER BY customer_id")
        return cursor.fetchall()


def test_upsert_inserts_new_rows_and_updates_stored_ones_as_bulk_create_would(batch: ImportBatch) -> None:
    first, last = pd.Timestamp("2011-02-03 04:05", tz="UTC"), pd.Timestamp("2011-12-09 12:50", tz="Europe/London")
    frame = pd.DataFrame(
        {
            "customer_id": [12346, 17850],  # 12346 is stored already (the batch fixture)
            "country": ["Norway", 'CAFÉ \\N, "x"'],
            "first_seen": [first, first],
            "last_seen": [last, last],
            "invoice_count": np.array([3, 4], dtype=np.int64),
            "line_count": np.array([30, 40], dtype=np.int64),
        }
    )
    fields = ["country", "first_seen", "last_seen", "invoice_count", "line_count"]

    assert bulk.upsert_frame(Customer, frame, unique_fields=["customer_id"], update_fields=fields) == 2

    upserted = _stored_customers()
    values = list(Customer.objects.order_by("customer_id").values_list("customer_id", *fields))
    assert values == [(12346, "Norway", first, last, 3, 30), (17850, 'CAFÉ \\N, "x"', first, last, 4, 40)]
    # The same values through the ORM's upsert are stored the same way, byte for byte.
    Customer.objects.filter(customer_id=17850).delete()
    Customer.objects.filter(customer_id=12346).update(country="", invoice_count=0, line_count=0)
    Customer.objects.bulk_create(
        [Customer(**dict(zip(["customer_id", *fields], row, strict=True))) for row in values],
        update_conflicts=True,
        unique_fields=["customer_id"],
        update_fields=fields,
    )
    assert _stored_customers() == upserted
