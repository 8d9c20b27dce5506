"""/api/health reports each dependency honestly, and answers a load balancer's probe."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_q.models import Success

from api import health


@pytest.fixture
def worker_seen(db) -> None:
    """A worker finished the one-minute sweep just now."""
    now = timezone.now()
    Success.objects.create(id="sweep", name="sweep", func=health.SWEEP_FUNC, started=now, stopped=now, success=True)


@pytest.fixture(autouse=True)
def _fresh_file_checks():
    health._verified.clear()
    yield
    health._verified.clear()


def test_everything_working_is_ok(trained_version, worker_seen, anonymous) -> None:
    response = anonymous.get("/api/health")
    payload = response.json()

    assert response.status_code == 200 and payload["status"] == "ok", payload
    assert {name: check["status"] for name, check in payload["checks"].items()} == {
        "database": "ok",
        "model": "ok",
        "broker": "ok",
        "worker": "ok",
    }
    assert payload["active_model"]["id"] == trained_version.pk and 0 <= payload["active_model"]["age_seconds"] < 600


def test_missing_model_files_are_degraded_not_ok(trained_version, worker_seen, anonymous) -> None:
    folder = Path(trained_version.artifacts["forest"]["path"]).parent
    anonymous.get("/api/health")  # files verified once while present
    shutil.rmtree(folder)

    payload = anonymous.get("/api/health").json()

    assert payload["status"] == "degraded" and payload["checks"]["model"]["status"] == "broken"
    assert str(folder) not in str(payload)  # no server path in an open endpoint


def test_a_changed_model_file_is_degraded(trained_version, worker_seen, anonymous) -> None:
    Path(trained_version.artifacts["quantiles"]["path"]).write_text("{}")

    assert anonymous.get("/api/health").json()["checks"]["model"]["status"] == "broken"


def test_a_broker_down_is_degraded(trained_version, worker_seen, anonymous, monkeypatch) -> None:
    class DeadBroker:
        def ping(self):
            raise ConnectionError("Error 111 connecting to redis.internal:6379")

    monkeypatch.setattr(health, "get_broker", DeadBroker)
    payload = anonymous.get("/api/health").json()

    assert payload["status"] == "degraded" and payload["checks"]["broker"]["status"] == "down"
    assert "redis.internal" not in str(payload)


def test_no_worker_seen_is_degraded(trained_version, anonymous) -> None:
    payload = anonymous.get("/api/health").json()

    assert payload["status"] == "degraded" and payload["checks"]["worker"]["status"] == "unknown"


def test_no_model_yet_is_degraded(db, worker_seen, anonymous) -> None:
    response = anonymous.get("/api/health")

    assert response.status_code == 200
    assert response.json()["checks"]["model"]["status"] == "none" and response.json()["active_model"] is None


def test_the_database_down_is_503_with_retry_after(db, anonymous, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OperationalError("unable to open database file")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", refuse)
        response = anonymous.get("/api/health")

    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["status"] == "down" and response.json()["database"] == "unreachable"


def test_a_probe_with_an_unknown_host_header_is_answered(db, client, settings, caplog) -> None:
    settings.ALLOWED_HOSTS = ["anomaly.example.com"]

    probe = client.get("/api/health", HTTP_HOST="10.0.0.7:8000")
    other = client.get("/customer_ids", HTTP_HOST="10.0.0.7:8000")

    assert probe.status_code == 200 and probe.json()["checks"]["database"]["status"] == "ok"
    assert other.status_code == 400  # only the health path is exempt
    assert not [record for record in caplog.records if record.levelname == "ERROR" and "health" in record.getMessage()]
