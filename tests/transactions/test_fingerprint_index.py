"""The fingerprint's unique index: one of its own (droppable on SQLite for a large load), still refusing copies."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from transactions.models import ImportBatch, Transaction

pytestmark = pytest.mark.django_db


def row(batch: ImportBatch, line_number: int) -> Transaction:
    return Transaction(
        invoice_no="536365",
        stock_code="85123A",
        quantity=6,
        invoice_date=timezone.now(),
        unit_price="2.55",
        country="United Kingdom",
        batch=batch,
        line_number=line_number,
        fingerprint=42,
    )


def test_a_second_row_with_the_same_fingerprint_is_refused() -> None:
    batch = ImportBatch.objects.create(file_name="a.csv", sha256="0" * 64)
    row(batch, 2).save()

    with pytest.raises(IntegrityError), transaction.atomic():
        row(batch, 3).save()

    assert Transaction.objects.count() == 1


def test_the_unique_index_is_on_the_bare_column() -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Transaction._meta.db_table)
    unique = {name: info for name, info in constraints.items() if info["unique"] and info["columns"] == ["fingerprint"]}

    # ON CONFLICT (fingerprint) needs an index of the column itself, not of an expression.
    assert list(unique) == ["txn_fingerprint_unique"]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'txn_fingerprint_unique'")
            assert cursor.fetchone()[0].startswith("CREATE UNIQUE INDEX")
