"""Fixtures for the analysts' workflow: an analyst, django-q2 in sync mode, flagged rows.

pytest-django's `admin_client` / `admin_user` are the superuser."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

ANALYST_GROUP = "Analyst"


@pytest.fixture(autouse=True)
def _no_static_finders(settings):
    """WhiteNoise lists every finder's files when DEBUG is off (as under pytest), and
    django-plotly-dash's finder fails at that (`None + list`); these tests serve no static files."""
    settings.WHITENOISE_USE_FINDERS = False


@pytest.fixture
def analyst(db) -> User:
    user = User.objects.create_user("ana", "ana@example.com", "ana-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name=ANALYST_GROUP))
    return user


@pytest.fixture
def analyst_client(analyst) -> Client:
    client = Client()
    client.force_login(analyst)
    return client


@pytest.fixture
def sync_jobs(settings, tmp_path):
    """Run django-q2 tasks in the calling process (Q_CLUSTER["sync"]) with uploads in tmp_path."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    settings.UPLOADS_DIR = tmp_path / "uploads"
    return settings


@pytest.fixture
def flagged_ids(trained_version) -> list[int]:
    """Transaction ids of the active version's flagged rows, highest anomaly score first."""
    from detection.models import TransactionScore

    return list(
        TransactionScore.objects.filter(model_version=trained_version, is_flagged=True)
        .order_by("-anomaly_score")
        .values_list("transaction_id", flat=True)
    )
