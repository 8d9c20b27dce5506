"""Every bad request is a 400 whose body names the field and what it allows; never a 500."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db

METRICS_TEXT = "TotalSpent, HistFreq, UnusualDestination, QuantitySpike"
GOOD = {"customer_id": "15311", "filter_metric": "TotalSpent"}


def errors_of(response) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"detail", "errors"}
    return body["errors"]


def assert_refused(response, field: str, allowed: str) -> None:
    """A 400 whose errors name `field` and say what it allows (`allowed`)."""
    assert response.status_code == 400
    errors = errors_of(response)
    assert field in errors
    assert allowed in " ".join(errors[field])


def bad_values(field: str, allowed: str, *values: Any) -> list[tuple[dict, str, str]]:
    """One case per value: the good request with `field` set to it, refused naming `field`."""
    return [({**GOOD, field: value}, field, allowed) for value in values]


def bad_queries(parameter: str, allowed: str, *values: str) -> list[tuple[str, str, str]]:
    """One case per value: `parameter=value` on /api/transactions/, refused naming `parameter`."""
    return [(f"{parameter}={value}", parameter, allowed) for value in values]


@pytest.mark.parametrize(
    ("body", "field", "allowed"),
    [
        ({"filter_metric": "TotalSpent"}, "customer_id", "required"),
        ({**GOOD, "customer_id": "abc"}, "customer_id", "positive whole number such as 15311"),
        *bad_values("customer_id", "positive whole number", "", "15311.5", -3, True, None, [15311], "NaN"),
        ({"customer_id": "15311"}, "filter_metric", METRICS_TEXT),
        *bad_values("filter_metric", METRICS_TEXT, "Quantity", "totalspent"),
        *bad_values("limit", "from 1 to 1000", 0, 1001, "ten", 2.5),
        *bad_values("scope", "flagged, all", "everything"),
        ({**GOOD, "filtermetric": "TotalSpent"}, "filtermetric", "allowed: customer_id, filter_metric, scope, limit"),
        ([GOOD], "body", "Expected a dictionary"),
        ("15311", "body", "Expected a dictionary"),
    ],
)
def test_bad_anomalies_request_is_400_naming_the_field(db, api, body, field, allowed) -> None:
    response = api.post("/api/anomalies", body, format="json")

    assert_refused(response, field, allowed)
    assert field in response.json()["detail"]


def test_an_unknown_key_and_bad_values_are_all_named_in_one_400(db, api) -> None:
    body = {"customer_id": "abc", "filter_metric": "Quantity", "limit": 0, "filtermetric": "TotalSpent"}

    response = api.post("/api/anomalies", body, format="json")

    assert response.status_code == 400
    errors = errors_of(response)
    assert set(errors) == {"customer_id", "filter_metric", "limit", "filtermetric"}
    assert "allowed: customer_id, filter_metric, scope, limit" in " ".join(errors["filtermetric"])
    assert METRICS_TEXT in " ".join(errors["filter_metric"])
    assert all(name in response.json()["detail"] for name in errors)


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
        *bad_queries("customer_id", "positive whole number", "abc"),
        *bad_queries("flagged", "true or false", "maybe"),
        *bad_queries("min_score", "from 0 to 1", "high", "1.5"),
        *bad_queries("date_from", "a date like 2011-12-09", "2011-13-01"),
        *bad_queries("date_to", "a date like 2011-12-09", "yesterday"),
        *bad_queries("ordering", "anomaly_score, -invoice_date", "price"),
        *bad_queries("ordering", "anomaly_score", "-anomaly_score,customer_id"),
        *bad_queries("page_size", "from 1 to 500", "0", "501", "ten"),
        # the second cursor's position is "abc", on a float column
        *bad_queries("cursor", "next/previous links", "not-a-cursor", "cD1hYmM%3D"),
    ],
)
def test_bad_transactions_query_is_400_naming_the_parameter(trained_version, api, query, field, allowed) -> None:
    response = api.get(f"/api/transactions/?{query}")

    assert_refused(response, field, allowed)


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

    assert_refused(response, field, allowed)
