"""Score rows repeat their transaction's listed columns (detection.fields.COPIED_KEYS): the migration
that added them fills the rows stored before, and transactions are never edited in place."""

from __future__ import annotations

import pytest
from django.contrib import admin

from detection.fields import COPIED_KEYS
from tests.migration_states import migrate, migrate_to_latest
from tests.score_copies import stale_copies
from transactions.models import Transaction

BEFORE_THE_COPIES = [("detection", "0011_anomaly_score_help"), ("transactions", "0004_field_help_texts")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_copies_the_transaction_columns_into_stored_score_rows() -> None:
    old = migrate(BEFORE_THE_COPIES)
    batch = old.get_model("transactions", "ImportBatch").objects.create(file_name="a.csv", sha256="0" * 64)
    customer = old.get_model("transactions", "Customer").objects.create(
        customer_id=17850, country="United Kingdom", first_seen="2011-01-01T10:00Z", last_seen="2011-01-01T10:00Z"
    )
    version = old.get_model("detection", "ModelVersion").objects.create(status="active", is_active=True)
    lines = [("536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, "2.550"), ("C536379", "D", "", -1, "27.500")]
    for number, (invoice_no, stock_code, description, quantity, unit_price) in enumerate(lines):
        row = old.get_model("transactions", "Transaction").objects.create(
            invoice_no=invoice_no, stock_code=stock_code, description=description, quantity=quantity,
            unit_price=unit_price, invoice_date="2011-01-01T10:00Z", customer=customer, country="United Kingdom",
            batch=batch, line_number=number + 2, fingerprint=number + 1,
        )  # fmt: skip
        old.get_model("detection", "TransactionScore").objects.create(
            transaction=row, model_version=version, customer_id=17850, invoice_date=row.invoice_date,
            country="United Kingdom", total_spent=15.3, hist_freq=0, unusual_destination=False,
            quantity_spike=False, zscore=0.0, price_deviation=0.0, transaction_hour=10, transaction_day=5,
            iso_forest_score=0.4, iso_forest_flag=False, autoencoder_mse=0.01, autoencoder_score=0.4,
            autoencoder_flag=False, risk_score=0.0, anomaly_score=0.4, is_flagged=False, is_common_anomaly=False,
        )  # fmt: skip

    migrate_to_latest()

    from detection.models import TransactionScore

    scores = TransactionScore.objects.order_by("transaction_id")
    assert stale_copies(scores) == 0
    assert [(s.invoice_no, s.description, s.quantity, str(s.unit_price)) for s in scores] == [
        ("536365", "WHITE HANGING HEART T-LIGHT HOLDER", 6, "2.550"),
        ("C536379", "", -1, "27.500"),
    ]
    assert not any(TransactionScore._meta.get_field(key).null for key in COPIED_KEYS)


def test_transactions_are_read_only_in_the_admin() -> None:
    """The copies are written once, with the score row: nothing edits a transaction in place."""
    transaction_admin = admin.site._registry[Transaction]
    assert set(COPIED_KEYS) <= set(transaction_admin.readonly_fields)
    assert not transaction_admin.has_add_permission(None)
