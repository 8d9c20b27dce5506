"""Who may call what: login by default, token auth, the anonymous-read switch, throttling, CORS."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db

SEED_READS = [
    ("get", "/customer_ids", None),
    ("post", "/api/anomalies", {"customer_id": 1, "filter_metric": "HistFreq"}),
]
OTHER_ENDPOINTS = [
    ("post", "/api/score", {"rows": [{}]}),
    ("get", "/api/transactions/", None),
    ("get", "/api/models", None),
    ("get", "/api/models/1", None),
]


def call(client: APIClient, method: str, url: str, body):
    return client.post(url, body, format="json") if method == "post" else client.get(url)


@pytest.mark.parametrize(("method", "url", "body"), SEED_READS + OTHER_ENDPOINTS)
def test_unauthenticated_requests_are_refused_with_401(db, anonymous, method, url, body) -> None:
    response = call(anonymous, method, url, body)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(("method", "url", "body"), SEED_READS)
def test_anonymous_read_setting_opens_the_seed_endpoints(trained_version, anonymous, settings, method, url, body):
    settings.API_ALLOW_ANONYMOUS_READ = True
    customer_id = anonymous.get("/customer_ids").json()["customer_ids"][0]
    body = body and {**body, "customer_id": customer_id}

    assert call(anonymous, method, url, body).status_code == 200


@pytest.mark.parametrize(("method", "url", "body"), OTHER_ENDPOINTS)
def test_anonymous_read_setting_opens_nothing_else(trained_version, anonymous, settings, method, url, body) -> None:
    settings.API_ALLOW_ANONYMOUS_READ = True

    assert call(anonymous, method, url, body).status_code == 401


def test_a_token_from_the_token_endpoint_authenticates(trained_version, analyst, anonymous) -> None:
    response = anonymous.post("/api/auth/token", {"username": "analyst", "password": "analyst-pass-123"}, format="json")
    wrong = anonymous.post("/api/auth/token", {"username": "analyst", "password": "nope"}, format="json")

    assert response.status_code == 200
    assert wrong.status_code == 400
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/customer_ids").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/customer_ids").status_code == 401


def test_health_schema_and_docs_need_no_login(trained_version, anonymous) -> None:
    assert anonymous.get("/api/health").status_code == 200
    assert anonymous.get("/api/schema/").status_code == 200
    assert anonymous.get("/api/docs/").status_code == 200


def test_requests_over_the_per_user_rate_get_429(trained_version, api, monkeypatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/min")

    statuses = [api.get("/customer_ids").status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]


def test_the_rate_is_counted_per_user(trained_version, api, loader_api, monkeypatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "2/min")

    first = [api.get("/customer_ids").status_code for _ in range(3)]
    second = [loader_api.get("/customer_ids").status_code for _ in range(3)]

    assert first == second == [200, 200, 429]


def test_cors_is_closed_by_default_and_opens_per_origin(trained_version, api, settings) -> None:
    origin = "https://analytics.example.com"
    closed = api.get("/customer_ids", HTTP_ORIGIN=origin)
    settings.CORS_ALLOWED_ORIGINS = [origin]
    opened = api.get("/customer_ids", HTTP_ORIGIN=origin)
    other = api.get("/customer_ids", HTTP_ORIGIN="https://elsewhere.example.com")

    assert "Access-Control-Allow-Origin" not in closed
    assert opened["Access-Control-Allow-Origin"] == origin
    assert "Access-Control-Allow-Origin" not in other
