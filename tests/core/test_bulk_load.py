"""bulk_load on SQLite: the indexes, unique ones too, are dropped for a large load and come back as they were."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.bulk_load import LOAD_CACHE_KIB, bulk_load
from transactions.models import ImportBatch, Transaction

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="bulk_load only acts on SQLite")

TABLE = Transaction._meta.db_table


def index_sql() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s ORDER BY name", [TABLE]
        )
        return cursor.fetchall()


def cache_size() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_large_load_runs_without_its_indexes_and_gets_them_back() -> None:
    before, cache = index_sql(), cache_size()
    with bulk_load(Transaction, rows_to_add=1_000, rows_stored=0) as without_indexes:
        during = index_sql()
        assert cache_size() == -LOAD_CACHE_KIB
    assert index_sql() == before
    assert cache_size() == cache
    # The unique fingerprint index is one of CREATE UNIQUE INDEX, not the column's UNIQUE clause
    # (an index without SQL of its own, which SQLite cannot drop): it goes too.
    assert during == []
    assert without_indexes is True
    assert (
        "txn_fingerprint_unique",
        'CREATE UNIQUE INDEX "txn_fingerprint_unique" ON "transactions_transaction" ("fingerprint")',
    ) in before
    assert all(sql is not None for _name, sql in before)
    assert len(before) > 1


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_written_during_a_load_fails_it_as_a_whole() -> None:
    before = index_sql()
    row = {"invoice_no": "536365", "stock_code": "85123A", "quantity": 6, "invoice_date": timezone.now()}
    row |= {"unit_price": "2.55", "country": "United Kingdom", "line_number": 2, "fingerprint": 42}
    with pytest.raises(IntegrityError), transaction.atomic():
        batch = ImportBatch.objects.create(file_name="a.csv", sha256="0" * 64)
        with bulk_load(Transaction, rows_to_add=1_000, rows_stored=0):
            Transaction.objects.create(batch=batch, **row)
            Transaction.objects.create(batch=batch, **row | {"line_number": 3})  # no index to refuse it yet
    assert index_sql() == before
    assert not ImportBatch.objects.exists()
    assert not Transaction.objects.exists()


@pytest.mark.django_db
def test_a_small_load_into_a_bigger_table_keeps_its_indexes() -> None:
    before = index_sql()
    with bulk_load(Transaction, rows_to_add=10, rows_stored=1_000) as without_indexes:
        assert index_sql() == before
        assert without_indexes is False
    assert index_sql() == before


@pytest.mark.django_db(transaction=True)
def test_a_failed_load_rolls_back_with_its_indexes() -> None:
    before, cache = index_sql(), cache_size()
    with pytest.raises(KeyboardInterrupt), transaction.atomic():
        ImportBatch.objects.create(file_name="a.csv", sha256="0" * 64)
        with bulk_load(Transaction, rows_to_add=1_000, rows_stored=0):
            raise KeyboardInterrupt
    assert index_sql() == before
    assert cache_size() == cache
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_bulk_load_needs_a_transaction() -> None:
    with (
        pytest.raises(RuntimeError, match="must run inside"),
        bulk_load(Transaction, rows_to_add=1, rows_stored=0),
    ):
        pass
    assert len(index_sql()) > 1
