"""Fixtures for production tests: the documented production environment."""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import write_csv
from transactions.demo_data import generate_demo_frame

from .processes import child_env, manage


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    """The environment the README documents for production, on a SQLite file in tmp_path."""
    return child_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="anomaly.example.com",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        ARTIFACTS_DIR=str(tmp_path / "artifacts"),
    )


def _server_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.fixture
def scratch_database(tmp_path: Path):
    """A fresh, empty database for processes started by a test: a SQLite file in tmp_path, or (when
    the suite runs on PostgreSQL) a new database on the same server, dropped afterwards.

    Yields {"url", "vendor", "name"}.
    """
    server = _server_url()
    if server is None:
        yield {"url": f"sqlite:///{tmp_path / 'scratch.sqlite3'}", "vendor": "sqlite", "name": "scratch.sqlite3"}
        return
    import psycopg

    name = f"scratch_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield {"url": with_database(server, name), "vendor": "postgresql", "name": name, "server": server}
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def with_database(url: str, name: str) -> str:
    """Return the server URL `url` pointing at database `name`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def scratch_env(scratch_database, tmp_path: Path) -> dict[str, str]:
    """The environment of a process working on the scratch database, artifacts in tmp_path."""
    return child_env(
        DATABASE_URL=scratch_database["url"],
        ARTIFACTS_DIR=str(tmp_path / "artifacts"),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
    )


def _site_env(folder: Path) -> dict[str, str]:
    """The environment of a SQLite site whose database and folders are in `folder`."""
    return child_env(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        ARTIFACTS_DIR=str(folder / "artifacts"),
        UPLOADS_DIR=str(folder / "uploads"),
        HEARTBEAT_SECONDS="2",
        STALE_AFTER_SECONDS="20",
        Q_WORKERS="1",
        DEBUG="1",
    )


def build_trained_site(folder: Path) -> dict[str, str]:
    """Build a SQLite site in `folder`, generated data loaded and a model trained, in fresh processes;
    return its environment."""
    env = _site_env(folder)
    manage("migrate", "--verbosity", "0", env=env)
    manage("setup_periodic_tasks", env=env)
    frame, _ = generate_demo_frame(3_000, seed=11)
    manage("ingest_csv", str(write_csv(folder / "data.csv", frame)), env=env)
    manage("train_models", "--epochs", "2", env=env, timeout=600)
    return env


def copy_site(template: Path, folder: Path) -> dict[str, str]:
    """Copy the site built in `template` into `folder` and return the copy's environment.

    The database records each artifact's absolute path, so the copy's records are pointed at its own
    artifact files (which keep their sha256).
    """
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template / "artifacts", folder / "artifacts")
    with sqlite3.connect(template / "db.sqlite3") as source, sqlite3.connect(folder / "db.sqlite3") as copy:
        source.backup(copy)
        copy.execute(
            "UPDATE detection_modelversion SET artifacts = replace(artifacts, ?, ?)",
            (str(template / "artifacts"), str(folder / "artifacts")),
        )
    return _site_env(folder)


@pytest.fixture(scope="session")
def trained_site_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One trained SQLite site per test session, for `trained_site` to copy (building one takes minutes)."""
    folder = tmp_path_factory.mktemp("trained_site_template")
    build_trained_site(folder)
    return folder


@pytest.fixture
def trained_site(trained_site_template: Path, tmp_path: Path) -> dict[str, str]:
    """A SQLite site with generated data loaded and a model trained, of this test's own."""
    return copy_site(trained_site_template, tmp_path / "site")
