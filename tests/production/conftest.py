"""Fixtures for production tests: the documented production environment."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from .processes import child_env


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    """The environment the README documents for production, on a SQLite file in tmp_path."""
    return child_env(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="anomaly.example.com",
        SECURE_HSTS_SECONDS="31536000",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        ARTIFACTS_DIR=str(tmp_path / "artifacts"),
    )
