"""bulk_insert_frame(staged=True or multirow=True) on SQLite stores what a direct insert stores, in order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone

from core.bulk import bulk_insert_frame
from transactions.models import Customer, ImportBatch, Transaction

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="staging is SQLite's"),
]
COLUMNS = ["invoice_no", "stock_code", "description", "quantity", "invoice_date", "unit_price"]
COLUMNS += ["customer_id", "country", "is_cancellation", "batch_id", "line_number", "fingerprint"]


def frame_of(rows: int, batch: ImportBatch, first_fingerprint: int) -> pd.DataFrame:
    """`rows` transactions of every kind of value: whole and fractional prices, missing customers."""
    numbers = np.arange(rows)
    return pd.DataFrame(
        {
            "invoice_no": [f"C{n}" if n % 7 == 0 else f"{536000 + n}" for n in numbers],
            "stock_code": [f"{85000 + n}A" for n in numbers],
            "description": [f"THING {n} ÉTÉ" for n in numbers],
            "quantity": (numbers % 13 - 6).astype(np.int64),
            "invoice_date": pd.date_range("2010-12-01 08:26", periods=rows, freq="37min", tz="Europe/London"),
            "unit_price": np.where(numbers % 3 == 0, 3.0, numbers * 0.125 + 0.005).round(3),
            "customer_id": pd.array([None if n % 5 == 0 else 12346 + n % 4 for n in numbers], dtype="Int64"),
            "country": "United Kingdom",
            "is_cancellation": numbers % 7 == 0,
            "batch_id": batch.pk,
            "line_number": numbers + 2,
            "fingerprint": numbers.astype(np.int64) + first_fingerprint,
        }
    )


def stored(batch: ImportBatch) -> list[tuple]:
    """The batch's rows in id order: each column's value and SQLite type, fingerprints as offsets."""
    typed = ", ".join(f"{column}, typeof({column})" for column in COLUMNS if column not in ("batch_id", "fingerprint"))
    first = Transaction.objects.filter(batch=batch).order_by("fingerprint").values_list("fingerprint", flat=True)[0]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {typed}, fingerprint - %s FROM transactions_transaction WHERE batch_id = %s ORDER BY id",
            [first, batch.pk],
        )
        return cursor.fetchall()


def temp_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_temp_master WHERE type = 'table'")
        return [name for (name,) in cursor.fetchall()]


@pytest.fixture(autouse=True)
def customers() -> None:
    """The customers the rows refer to (the foreign keys are checked when a test ends)."""
    now = timezone.now()
    Customer.objects.bulk_create(
        [Customer(customer_id=12346 + n, country="United Kingdom", first_seen=now, last_seen=now) for n in range(4)]
    )


def test_staged_rows_equal_direct_rows() -> None:
    direct_batch, staged_batch = ImportBatch.objects.create(file_name="a"), ImportBatch.objects.create(file_name="b")
    rows = 83 * 3 + 17  # full statements of the parameter limit and a shorter last one

    assert bulk_insert_frame(Transaction, frame_of(rows, direct_batch, 10_000)) == rows
    assert bulk_insert_frame(Transaction, frame_of(rows, staged_batch, 20_000), staged=True) == rows

    assert stored(staged_batch) == stored(direct_batch)
    assert len(stored(staged_batch)) == rows
    ids = list(Transaction.objects.filter(batch=staged_batch).order_by("line_number").values_list("id", flat=True))
    assert ids == sorted(ids)  # ids follow the frame's order
    assert temp_tables() == []


def test_staged_insert_skips_conflicts_when_asked() -> None:
    batch = ImportBatch.objects.create(file_name="a")
    bulk_insert_frame(Transaction, frame_of(10, batch, 0), staged=True)

    added = bulk_insert_frame(Transaction, frame_of(30, batch, 0), staged=True, ignore_conflicts=True)

    assert added == 20
    assert Transaction.objects.count() == 30
    assert temp_tables() == []


def test_multirow_rows_equal_direct_rows() -> None:
    direct_batch, multirow_batch = ImportBatch.objects.create(file_name="a"), ImportBatch.objects.create(file_name="b")
    rows = 83 * 3 + 17

    assert bulk_insert_frame(Transaction, frame_of(rows, direct_batch, 10_000)) == rows
    assert bulk_insert_frame(Transaction, frame_of(rows, multirow_batch, 20_000), multirow=True) == rows

    assert stored(multirow_batch) == stored(direct_batch)
    ids = list(Transaction.objects.filter(batch=multirow_batch).order_by("line_number").values_list("id", flat=True))
    assert ids == sorted(ids)
    assert temp_tables() == []


def test_multirow_insert_skips_conflicts_when_asked() -> None:
    batch = ImportBatch.objects.create(file_name="a")
    bulk_insert_frame(Transaction, frame_of(10, batch, 0), multirow=True)

    added = bulk_insert_frame(Transaction, frame_of(300, batch, 0), multirow=True, ignore_conflicts=True)

    assert added == 290
    assert Transaction.objects.count() == 300


def test_staged_and_multirow_are_exclusive() -> None:
    batch = ImportBatch.objects.create(file_name="a")
    with pytest.raises(ValueError, match="choose one"):
        bulk_insert_frame(Transaction, frame_of(3, batch, 0), staged=True, multirow=True)
