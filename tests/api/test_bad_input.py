"""Every bad request is a 400 whose body names the field and what it allows; never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

METRICS_TEXT = "TotalSpent, HistFreq, UnusualDestination, QuantitySpike"
GOOD = {"customer_id": "15311", "filter_metric": "TotalSpent"}


def errors_of(response) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"detail", "errors"}
    return body["errors"]


@pytest.mark.parametrize(
    ("body", "field", "allowed"),
    [
        ({"filter_metric": "TotalSpent"}, "customer_id", "required"),
        ({**GOOD, "customer_id": "abc"}, "customer_id", "positive whole number such as 15311"),
        ({**GOOD, "customer_id": ""}, "customer_id", "positive whole number"),
        ({**GOOD, "customer_id": "15311.5"}, "customer_id", "positive whole number"),
        ({**GOOD, "customer_id": -3}, "customer_id", "positive whole number"),
        ({**GOOD, "customer_id": True}, "customer_id", "positive whole number"),
        ({**GOOD, "customer_id": None}, "customer_id", "positive whole number"),
        ({**GOOD, "customer_id": [15311]}, "customer_id", "positive whole number"),
        ({**GOOD, "customer_id": "NaN"}, "customer_id", "positive whole number"),
        ({"customer_id": "15311"}, "filter_metric", METRICS_TEXT),
        ({**GOOD, "filter_metric": "Quantity"}, "filter_metric", METRICS_TEXT),
        ({**GOOD, "filter_metric": "totalspent"}, "filter_metric", METRICS_TEXT),
        ({**GOOD, "limit": 0}, "limit", "from 1 to 1000"),
        ({**GOOD, "limit": 1001}, "limit", "from 1 to 1000"),
        ({**GOOD, "limit": "ten"}, "limit", "from 1 to 1000"),
        ({**GOOD, "limit": 2.5}, "limit", "from 1 to 1000"),
        ({**GOOD, "scope": "everything"}, "scope", "flagged, all"),
        ({**GOOD, "filtermetric": "TotalSpent"}, "filtermetric", "allowed: customer_id, filter_metric, scope, limit"),
        ([GOOD], "body", "Expected a dictionary"),
        ("15311", "body", "Expected a dictionary"),
    ],
)
def test_bad_anomalies_request_is_400_naming_the_field(db, api, body, field, allowed) -> None:
    response = api.post("/api/anomalies", body, format="json")

    assert response.status_code == 400
    errors = errors_of(response)
    assert field in errors
    assert allowed in " ".join(errors[field])
    assert field in response.json()["detail"]


@pytest.mark.parametrize("text", ["{bad json", '{"customer_id": 15311,}', "", "[", "\x00\x01"])
def test_malformed_json_is_400_naming_the_body(db, api, text) -> None:
    response = api.post("/api/anomalies", text, content_type="application/json")

    assert response.status_code == 400
    messages = errors_of(response)
    field = "customer_id" if text == "" else "body"  # an empty body is an empty object
    assert field in messages


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/csv"]
)
def test_wrong_content_type_is_400_naming_it(db, api, content_type) -> None:
    response = api.post("/api/anomalies", "customer_id=15311&filter_metric=TotalSpent", content_type=content_type)

    assert response.status_code == 400
    messages = " ".join(errors_of(response)["Content-Type"])
    assert content_type.split(";")[0] in messages and "application/json" in messages


def test_bad_input_is_reported_before_a_missing_model(db, api) -> None:
    bad = api.post("/api/anomalies", {"customer_id": "x", "filter_metric": "TotalSpent"}, format="json")
    good = api.post("/api/anomalies", GOOD, format="json")

    assert bad.status_code == 400
    assert "customer_id" in errors_of(bad)
    assert good.status_code == 503


@pytest.mark.parametrize(
    ("query", "field", "allowed"),
    [
        ("customer_id=abc", "customer_id", "positive whole number"),
        ("flagged=maybe", "flagged", "true or false"),
        ("min_score=high", "min_score", "from 0 to 1"),
        ("min_score=1.5", "min_score", "from 0 to 1"),
        ("date_from=2011-13-01", "date_from", "a date like 2011-12-09"),
        ("date_to=yesterday", "date_to", "a date like 2011-12-09"),
        ("ordering=price", "ordering", "anomaly_score, -invoice_date"),
        ("ordering=-anomaly_score,customer_id", "ordering", "anomaly_score"),
        ("page_size=0", "page_size", "from 1 to 500"),
        ("page_size=501", "page_size", "from 1 to 500"),
        ("page_size=ten", "page_size", "from 1 to 500"),
        ("cursor=not-a-cursor", "cursor", "next/previous links"),
        ("cursor=cD1hYmM%3D", "cursor", "next/previous links"),  # position "abc" on a float column
    ],
)
def test_bad_transactions_query_is_400_naming_the_parameter(trained_version, api, query, field, allowed) -> None:
    response = api.get(f"/api/transactions/?{query}")

    assert response.status_code == 400
    errors = errors_of(response)
    assert field in errors
    assert allowed in " ".join(errors[field])


@pytest.mark.parametrize(
    ("body", "field", "allowed"),
    [
        ({}, "rows", "required"),
        ({"rows": []}, "rows", "1 to 1000"),
        ({"rows": "x"}, "rows", "1 to 1000"),
        ({"rows": [{}] * 1001}, "rows", "1 to 1000"),
        ({"rows": [5]}, "rows[0]", "an object with the keys InvoiceNo"),
        ({"rows": [{"Quantity": True}]}, "rows[0].Quantity", "text or a number"),
        ({"rows": [{"Qty": 1}]}, "rows[0].Qty", "allowed: InvoiceNo, StockCode"),
        ({"rows": [{}], "store": "perhaps"}, "store", "valid boolean"),
        ({"rows": [{}], "dry_run": True}, "dry_run", "allowed: rows, store"),
    ],
)
def test_bad_score_request_is_400_naming_the_field(db, api, body, field, allowed) -> None:
    response = api.post("/api/score", body, format="json")

    assert response.status_code == 400
    errors = errors_of(response)
    assert field in errors
    assert allowed in " ".join(errors[field])
