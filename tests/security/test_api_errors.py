"""Attacker-shaped API requests: every one is a 4xx in the API's JSON error shape, never a 500 or HTML."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

GOOD = {"customer_id": "15311", "filter_metric": "TotalSpent"}
SURROGATE = "\\ud800"  # the JSON escape of a lone surrogate, as a client would send it


def json_errors(response) -> dict[str, list[str]]:
    """The `errors` of a 400 JSON error body (asserting its shape)."""
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"}
    return body["errors"]


def post_raw(client: Client, path: str, text: str | bytes):
    return client.post(path, text, content_type="application/json")


def test_date_to_at_the_last_day_of_the_calendar_is_400_naming_it(trained_version, reader_client) -> None:
    response = reader_client.get("/api/transactions/?date_to=9999-12-31")

    assert "date_to" in json_errors(response)


def test_date_from_at_the_first_day_of_the_calendar_is_answered(trained_version, reader_client) -> None:
    response = reader_client.get("/api/transactions/?date_from=0001-01-01&date_to=0001-01-01")

    assert response.status_code in (200, 400)
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"customer_id": "15311", "filter_metric": "' + SURROGATE + '"}', "filter_metric"),
        ('{"customer_id": "' + SURROGATE + '", "filter_metric": "TotalSpent"}', "customer_id"),
        ('{"customer_id": "15311", "filter_metric": "TotalSpent", "x' + SURROGATE + '": 1}', "x\\ud800"),
    ],
)
def test_lone_surrogate_in_anomalies_request_is_400_naming_the_field(db, reader_client, text, field) -> None:
    errors = json_errors(post_raw(reader_client, "/api/anomalies", text))

    assert field in errors
    assert "surrogate" in " ".join(errors[field])


@pytest.mark.parametrize("column", ["InvoiceNo", "StockCode", "Description", "Country"])
def test_lone_surrogate_in_a_scored_row_is_400_naming_the_column(db, reader_client, column) -> None:
    row = {
        "InvoiceNo": "536365",
        "StockCode": "85123A",
        "Description": "WHITE HEART",
        "Quantity": 6,
        "InvoiceDate": "12/1/2010 8:26",
        "UnitPrice": 2.55,
        "CustomerID": 17850,
        "Country": "United Kingdom",
    }
    text = json.dumps({"rows": [{**row, column: "x\ud800y"}], "store": True})

    errors = json_errors(post_raw(reader_client, "/api/score", text))

    assert f"rows[0].{column}" in errors


def test_deeply_nested_brackets_are_400_naming_the_body(db, reader_client) -> None:
    errors = json_errors(post_raw(reader_client, "/api/anomalies", "[" * 100_000 + "]" * 100_000))

    assert "body" in errors


def test_deeply_nested_objects_in_score_rows_are_400(db, reader_client) -> None:
    text = '{"rows": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}"

    assert "body" in json_errors(post_raw(reader_client, "/api/score", text))


def test_body_over_the_upload_limit_is_400_naming_the_body(db, reader_client) -> None:
    text = '{"customer_id": "15311", "filter_metric": "' + "A" * (11 * 1024 * 1024) + '"}'
    assert len(text) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    errors = json_errors(post_raw(reader_client, "/api/anomalies", text))

    assert "body" in errors


def test_unknown_api_path_is_json_404(db, reader_client) -> None:
    response = reader_client.get("/api/no-such-endpoint")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_unhandled_exception_in_an_api_view_is_json_500(db, reader, monkeypatch) -> None:
    from api import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "customer_ids_read", broken)
    client = Client(raise_request_exception=False)
    client.force_login(reader)

    response = client.get("/customer_ids")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Internal server error: the request could not be served."}
    assert b"boom" not in response.content


def test_csrf_failure_on_the_api_is_json_403(db, reader) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(reader)

    response = client.post("/api/anomalies", GOOD, content_type="application/json")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_non_api_paths_keep_their_html_errors(db, reader_client) -> None:
    response = reader_client.get("/no-such-page")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_lone_surrogate_in_a_token_login_is_never_a_500(db) -> None:
    response = post_raw(Client(), "/api/auth/token", '{"username": "' + SURROGATE + '", "password": "x"}')

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
