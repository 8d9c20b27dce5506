"""The seed's two endpoints: exact payload keys and types, row choice and order, 404/503 cases."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db.models import Count, Q

from detection.fields import METRICS
from detection.models import ModelVersion, TransactionScore
from transactions.models import Customer

pytestmark = pytest.mark.django_db

ANOMALY_LIST_KEYS = {"InvoiceNo", "metric_value", "RiskScore"}
DRILL_DOWN_TYPES = {
    "CustomerID": int,
    "InvoiceNo": str,
    "InvoiceDate": str,
    "StockCode": str,
    "Description": str,
    "Quantity": int,
    "UnitPrice": float,
    "Country": str,
    "TotalSpent": float,
    "HistFreq": int,
    "UnusualDestination": int,
    "QuantitySpike": int,
    "RiskScore": float,
    "anomaly_score": float,
    "explanation": list,
}


def most_flagged_customer() -> int:
    return (
        TransactionScore.objects.values("customer_id")
        .annotate(flagged=Count("id", filter=Q(is_flagged=True)))
        .order_by("-flagged", "customer_id")
        .first()["customer_id"]
    )


def anomalies(api, **body):
    return api.post("/api/anomalies", body, format="json")


def test_customer_ids_lists_every_customer_ascending_as_integers(trained_version, api) -> None:
    response = api.get("/customer_ids")

    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"total_customer_ids", "customer_ids"}
    expected = list(Customer.objects.order_by("customer_id").values_list("customer_id", flat=True))
    assert payload["customer_ids"] == expected
    assert payload["total_customer_ids"] == len(expected) > 10
    assert all(type(customer_id) is int for customer_id in payload["customer_ids"])


def test_anomalies_payload_has_the_seed_keys_and_types(trained_version, api) -> None:
    customer_id = most_flagged_customer()
    response = anomalies(api, customer_id=str(customer_id), filter_metric="TotalSpent")

    assert response.status_code == 200
    assert response["X-Model-Version"] == str(trained_version.pk)
    payload = response.json()
    assert set(payload) == {"anomaly_list", "chart_data", "drill_down_data"}
    assert payload["anomaly_list"], "the most flagged customer has flagged rows"
    for item in payload["anomaly_list"]:
        assert set(item) == ANOMALY_LIST_KEYS
        assert type(item["InvoiceNo"]) is str and type(item["metric_value"]) is float
        assert type(item["RiskScore"]) is float and item["RiskScore"] in (0.0, 1.0)
    assert set(payload["chart_data"]) == {"InvoiceNo", "TotalSpent"}
    for row in payload["drill_down_data"]:
        assert set(row) == set(DRILL_DOWN_TYPES)
        assert {key: type(value) for key, value in row.items()} == DRILL_DOWN_TYPES
        assert row["CustomerID"] == customer_id
        assert datetime.fromisoformat(row["InvoiceDate"]).utcoffset() is not None
        assert row["UnusualDestination"] in (0, 1) and row["QuantitySpike"] in (0, 1)
        for item in row["explanation"]:
            assert set(item) == {"feature", "value", "share"}


@pytest.mark.parametrize("metric", list(METRICS))
def test_the_three_parts_list_the_same_rows_in_the_same_order(trained_version, api, metric) -> None:
    customer_id = most_flagged_customer()
    payload = anomalies(api, customer_id=customer_id, filter_metric=metric, limit=50).json()

    listed, chart, drill = payload["anomaly_list"], payload["chart_data"], payload["drill_down_data"]
    assert len(listed) == len(chart["InvoiceNo"]) == len(chart[metric]) == len(drill) > 1
    assert [item["InvoiceNo"] for item in listed] == chart["InvoiceNo"] == [row["InvoiceNo"] for row in drill]
    assert [item["metric_value"] for item in listed] == chart[metric] == [row[metric] for row in drill]
    assert [item["RiskScore"] for item in listed] == [row["RiskScore"] for row in drill]


def test_rows_are_the_flagged_ones_ordered_by_metric_then_anomaly_score(trained_version, api) -> None:
    customer_id = most_flagged_customer()
    flagged = TransactionScore.objects.filter(customer_id=customer_id, is_flagged=True)
    payload = anomalies(api, customer_id=customer_id, filter_metric="HistFreq", limit=1000).json()

    rows = payload["drill_down_data"]
    assert len(rows) == flagged.count()
    keys = [(row["HistFreq"], row["anomaly_score"]) for row in rows]
    assert keys == sorted(keys, reverse=True)
    expected_top = flagged.order_by("-total_spent", "-anomaly_score").first()
    top = anomalies(api, customer_id=customer_id, filter_metric="TotalSpent", limit=1).json()["drill_down_data"]
    assert top[0]["TotalSpent"] == pytest.approx(expected_top.total_spent)
    assert top[0]["anomaly_score"] == pytest.approx(expected_top.anomaly_score)


def test_scope_all_and_limit(trained_version, api) -> None:
    customer_id = most_flagged_customer()
    scored = TransactionScore.objects.filter(customer_id=customer_id).count()

    everything = anomalies(api, customer_id=customer_id, filter_metric="TotalSpent", scope="all", limit=1000).json()
    three = anomalies(api, customer_id=customer_id, filter_metric="TotalSpent", scope="all", limit=3).json()
    default = anomalies(api, customer_id=customer_id, filter_metric="TotalSpent", scope="all").json()

    assert len(everything["drill_down_data"]) == scored > 10
    assert three["drill_down_data"] == everything["drill_down_data"][:3]
    assert len(default["drill_down_data"]) == 10


@pytest.mark.parametrize("form", ["{id}", "{id}.0", "int", "float"])
def test_customer_id_forms_give_the_same_answer(trained_version, api, form) -> None:
    customer_id = most_flagged_customer()
    value = {"int": customer_id, "float": float(customer_id)}.get(form) or form.format(id=customer_id)
    reference = anomalies(api, customer_id=customer_id, filter_metric="QuantitySpike").json()

    response = anomalies(api, customer_id=value, filter_metric="QuantitySpike")

    assert response.status_code == 200
    assert response.json() == reference


def test_known_customer_without_flagged_rows_gets_empty_lists(trained_version, api) -> None:
    customer_id = most_flagged_customer()
    TransactionScore.objects.filter(customer_id=customer_id).update(is_flagged=False)

    response = anomalies(api, customer_id=customer_id, filter_metric="TotalSpent")

    assert response.status_code == 200
    empty = {"anomaly_list": [], "chart_data": {"InvoiceNo": [], "TotalSpent": []}, "drill_down_data": []}
    assert response.json() == empty
    assert anomalies(api, customer_id=customer_id, filter_metric="TotalSpent", scope="all").json()["anomaly_list"]


def test_unknown_customer_is_404(trained_version, api) -> None:
    response = anomalies(api, customer_id=99_999_999, filter_metric="TotalSpent")

    assert response.status_code == 404
    assert "99999999" in response.json()["detail"]


def test_no_active_model_is_503_with_a_clear_message(trained_version, api) -> None:
    ModelVersion.objects.update(is_active=False)

    response = anomalies(api, customer_id=most_flagged_customer(), filter_metric="TotalSpent")

    assert response.status_code == 503
    assert "No active model" in response.json()["detail"]
    assert "train_models" in response.json()["detail"]
