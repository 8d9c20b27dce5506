"""POST /api/score: planted extremes are flagged, typical rows are not, store=true persists once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from detection.models import TransactionScore
from tests.score_copies import stale_copies
from transactions.models import Customer, ImportBatch, Transaction

from .conftest import SEED_ROW_KEYS, source_row

pytestmark = pytest.mark.django_db

SCORED_ROW_KEYS = {
    "row",
    "stored",
    "transaction_id",
    *SEED_ROW_KEYS,
    "ZScore",
    "PriceDeviation",
    "TransactionHour",
    "TransactionDay",
    "IsolationForest_Score",
    "IsolationForest_Flag",
    "Autoencoder_Score",
    "Autoencoder_Flag",
    "RiskScore",
    "anomaly_score",
    "is_flagged",
    "is_common_anomaly",
    "explanation",
    "kind",
    "original_transaction_id",
    "flag_reasons",
    "decision",
    "reasons",
}


def score(client, rows, **extra):
    return client.post("/api/score", {"rows": rows, **extra}, format="json")


def test_planted_extremes_are_flagged_and_a_typical_row_is_not(trained_version, api, typical_score) -> None:
    price = float(typical_score.transaction.unit_price)
    rows = [
        source_row(typical_score),
        source_row(typical_score, Quantity=50_000),
        source_row(typical_score, UnitPrice=round(price * 200, 2)),
    ]

    response = score(api, rows)

    assert response.status_code == 200
    payload = response.json()
    assert payload["model_version"] == trained_version.pk and payload["store"] is False and payload["batch_id"] is None
    typical, huge_quantity, extreme_price = payload["rows"]
    assert [row["row"] for row in payload["rows"]] == [0, 1, 2]
    assert set(typical) == SCORED_ROW_KEYS
    assert typical["is_flagged"] is False and typical["RiskScore"] == 0.0 and typical["explanation"] == []
    assert typical["anomaly_score"] == pytest.approx(typical_score.anomaly_score, abs=1e-6)
    assert typical["TotalSpent"] == pytest.approx(typical_score.total_spent)
    for extreme in (huge_quantity, extreme_price):
        assert extreme["is_flagged"] is True and extreme["RiskScore"] == 1.0
        assert extreme["anomaly_score"] > 0.98
        assert extreme["explanation"] and {"feature", "value", "share"} == set(extreme["explanation"][0])
    assert huge_quantity["QuantitySpike"] == 1 and huge_quantity["Quantity"] == 50_000
    assert payload["flagged"] == 2
    assert all(row["stored"] is False and row["transaction_id"] is None for row in payload["rows"])


def test_scoring_alone_writes_nothing(trained_version, api, typical_score) -> None:
    before = (Transaction.objects.count(), TransactionScore.objects.count(), ImportBatch.objects.count())

    assert score(api, [source_row(typical_score, Quantity=50_000)]).status_code == 200

    assert (Transaction.objects.count(), TransactionScore.objects.count(), ImportBatch.objects.count()) == before


def test_store_true_saves_a_batch_with_scores_once(trained_version, loader_api, typical_score) -> None:
    rows = [source_row(typical_score, Quantity=50_000), source_row(typical_score, InvoiceNo="T900001")]
    new_customer = source_row(typical_score, InvoiceNo="T900002", CustomerID=99_001, Country="Norway")

    first = score(loader_api, [*rows, new_customer], store=True).json()
    again = score(loader_api, rows, store=True).json()

    batch = ImportBatch.objects.get(pk=first["batch_id"])
    assert batch.rows_loaded == 3 and batch.rows_read == 3 and batch.status == ImportBatch.Status.COMPLETED
    stored = Transaction.objects.filter(batch=batch)
    posted = sorted(row["InvoiceNo"] for row in [*rows, new_customer])
    assert sorted(stored.values_list("invoice_no", flat=True)) == posted
    assert [row["stored"] for row in first["rows"]] == [True, True, True]
    assert {row["transaction_id"] for row in first["rows"]} == set(stored.values_list("id", flat=True))
    scores = TransactionScore.objects.filter(transaction__batch=batch, model_version=trained_version)
    assert scores.count() == 3
    assert stale_copies(scores) == 0  # the transaction's columns copied into the score rows
    huge = scores.get(transaction_id=first["rows"][0]["transaction_id"])
    assert huge.is_flagged and huge.anomaly_score == pytest.approx(first["rows"][0]["anomaly_score"])
    assert huge.explanation == first["rows"][0]["explanation"]
    assert Customer.objects.filter(pk=99_001, country="Norway", line_count=1).exists()

    second = ImportBatch.objects.get(pk=again["batch_id"])
    assert second.rows_loaded == 0 and second.rows_existing == 2
    assert [row["stored"] for row in again["rows"]] == [False, False]
    assert [row["transaction_id"] for row in again["rows"]] == [row["transaction_id"] for row in first["rows"][:2]]
    assert TransactionScore.objects.filter(transaction__batch=batch).count() == 3


def test_store_needs_the_add_transaction_permission(trained_version, api, typical_score) -> None:
    response = score(api, [source_row(typical_score)], store=True)

    assert response.status_code == 403
    assert "store=true" in response.json()["detail"]
    assert not ImportBatch.objects.filter(file_name="api").exists()


def test_invalid_rows_are_400_naming_each_row_and_nothing_is_stored(trained_version, loader_api, typical_score):
    good = source_row(typical_score)
    rows = [
        good,
        source_row(typical_score, Quantity="lots"),
        source_row(typical_score, InvoiceDate="2011-12-09 12:50"),
        source_row(typical_score, CustomerID=None),
        good,
        source_row(typical_score, UnitPrice="", Country=""),
    ]

    response = score(loader_api, rows, store=True)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"rows[1]", "rows[2]", "rows[3]", "rows[4]", "rows[5]"}
    assert "Quantity 'lots' is not a whole number" in errors["rows[1]"][0]
    assert "12/1/2010 8:26" in errors["rows[2]"][0]
    assert "CustomerID" in errors["rows[3]"][0]
    assert "exact copy" in errors["rows[4]"][0]
    assert "UnitPrice" in errors["rows[5]"][0]
    assert not ImportBatch.objects.filter(file_name="api").exists()


def test_numbers_may_come_as_text(trained_version, api, typical_score) -> None:
    as_numbers = source_row(typical_score)
    as_text = {key: str(value) for key, value in as_numbers.items()}
    as_text["CustomerID"] += ".0"

    numbers, text = score(api, [as_numbers]).json()["rows"][0], score(api, [as_text]).json()["rows"][0]

    assert numbers == text


def test_no_active_model_is_503(trained_version, api, typical_score) -> None:
    row = source_row(typical_score)
    trained_version.is_active = False
    trained_version.save()

    response = score(api, [row])

    assert response.status_code == 503
    assert "No active model" in response.json()["detail"]


def test_a_first_purchase_of_a_new_item_by_a_new_customer_is_scored_not_flagged(trained_version, api, typical_score):
    row = source_row(typical_score, CustomerID=99_999, StockCode="NEW-ITEM-1", Country="United Kingdom")

    response = score(api, [row])

    assert response.status_code == 200
    scored = response.json()["rows"][0]
    assert scored["HistFreq"] == 0 and scored["UnusualDestination"] == 0 and scored["kind"] == "sale"
    assert scored["is_flagged"] is False and scored["flag_reasons"] == []


def test_a_posted_cancellation_is_out_of_the_ranking(trained_version, api, typical_score) -> None:
    quantity = -abs(int(typical_score.transaction.quantity))
    later = timezone.localtime(typical_score.invoice_date) + timedelta(days=1)
    when = f"{later.month}/{later.day}/{later.year} {later.hour}:{later.minute:02d}"
    row = source_row(typical_score, InvoiceNo="C" + typical_score.transaction.invoice_no, Quantity=quantity)
    row["InvoiceDate"] = when

    scored = score(api, [row]).json()["rows"][0]

    assert scored["kind"] == "cancellation" and scored["anomaly_score"] == 0.0 and scored["is_flagged"] is False
    assert scored["original_transaction_id"] == typical_score.transaction_id
