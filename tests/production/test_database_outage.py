"""A database that is briefly unreachable: 503 with Retry-After, never 500, and recovery without a restart."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import OperationalError
from django.test import RequestFactory

from core.middleware import DatabaseUnavailableMiddleware

from .processes import LiveServer, driver

pytestmark = pytest.mark.django_db


def test_a_view_database_error_is_503_json_and_the_next_request_is_served(admin_client, monkeypatch) -> None:
    import api.views

    real = api.views.customer_ids_read

    def unreachable():
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(api.views, "customer_ids_read", unreachable)
    down = admin_client.get("/customer_ids")
    monkeypatch.setattr(api.views, "customer_ids_read", real)
    up = admin_client.get("/customer_ids")

    assert down.status_code == 503
    assert down.json() == {"detail": "The database is temporarily unavailable; retry shortly."}
    assert down["Retry-After"] == "5"
    assert up.status_code == 200


def test_pages_get_a_plain_503_and_other_errors_are_left_alone() -> None:
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/dashboard/")

    page = middleware.process_exception(request, OperationalError("database is locked"))

    assert page.status_code == 503 and page["Content-Type"].startswith("text/plain")
    assert middleware.process_exception(request, ValueError("a bug")) is None


def _fetch(server: LiveServer, token: str) -> requests.Response:
    return requests.get(f"{server.url}/customer_ids", headers={"Authorization": f"Token {token}"}, timeout=30)


class SqliteOutage:
    """The database file moved away (connections then open an empty file: 'no such table'), then back."""

    def __init__(self, url: str) -> None:
        self.path = Path(url.removeprefix("sqlite:///"))

    def start(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                source.rename(f"{source}.away")

    def end(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            away = Path(f"{self.path}{suffix}.away")
            if away.exists():
                away.rename(f"{self.path}{suffix}")


class PostgresOutage:
    """The database refuses connections and its open ones are terminated, then it accepts again."""

    def __init__(self, server: str, name: str) -> None:
        self.server, self.name = server, name

    def start(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {self.name} ALLOW_CONNECTIONS false")
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [self.name])

    def end(self) -> None:
        with psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {self.name} ALLOW_CONNECTIONS true")


def test_live_server_answers_503_during_an_outage_and_recovers(scratch_database, scratch_env, demo_csv) -> None:
    token = driver(f"ingest:{demo_csv}", "token", env=scratch_env)[1]["token"]
    if scratch_database["vendor"] == "postgresql":
        # Persistent connections too: the health check must replace the one the outage broke.
        env = {**scratch_env, "CONN_MAX_AGE": "60"}
        outage = PostgresOutage(scratch_database["server"], scratch_database["name"])
    else:
        env = scratch_env
        outage = SqliteOutage(scratch_database["url"])

    with LiveServer(env, workers=1) as server:
        before = _fetch(server, token)
        outage.start()
        try:
            during = [_fetch(server, token) for _ in range(5)]
        finally:
            outage.end()
        after = [_fetch(server, token) for _ in range(3)]
        still_running = server.process.poll() is None

    assert before.status_code == 200 and before.json()["total_customer_ids"] > 10
    assert [response.status_code for response in during] == [503] * 5
    assert all(response.headers["Retry-After"] == "5" for response in during)
    assert during[0].json()["detail"].startswith("The database is temporarily unavailable")
    assert [response.status_code for response in after] == [200] * 3
    assert after[-1].json() == before.json()
    assert still_running, "the server was not restarted"


def test_scratch_database_follows_the_suite_database(scratch_database) -> None:
    on_postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
    assert scratch_database["vendor"] == ("postgresql" if on_postgres else "sqlite")
