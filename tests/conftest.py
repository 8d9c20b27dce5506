"""Shared fixtures: generated data in the Kaggle format, the real file when present, the roles.

Roles: anonymous (no login), a plain user (logged in, no permission), an analyst (staff in the
Analyst group), and pytest-django's `admin_user` / `admin_client` (the superuser).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.test import Client

from transactions.demo_data import generate_demo_frame

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ecommerce-data.csv.gz"


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """Write `frame` as the Kaggle file is written (latin-1, no index) and return the path."""
    frame.to_csv(path, index=False, encoding="latin-1", lineterminator="\n")
    return path


def clear_cache(request: pytest.FixtureRequest) -> None:
    """Empty Django's cache for a test that may touch it.

    The default cache is a database table, so it is reachable only in tests with database access;
    there the test's own transaction undoes its writes anyway, but a Redis or local-memory CACHE_URL
    keeps entries across tests.
    """
    names = set(request.fixturenames)
    if "transactional_db" in names or "live_server" in names:
        request.getfixturevalue("transactional_db")
    elif "db" in names or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
    else:
        return
    cache.clear()


@pytest.fixture(scope="session")
def demo_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 3,000-row generated file (as strings) and its planted-anomaly labels."""
    return generate_demo_frame(3_000, seed=7)


@pytest.fixture
def demo_csv(tmp_path: Path, demo_frames) -> Path:
    return write_csv(tmp_path / "data.csv", demo_frames[0])


@pytest.fixture
def real_data_path() -> Path:
    if not REAL_DATA.is_file():
        pytest.skip(f"the real data file is absent: {REAL_DATA} (see shared/data/README.md)")
    return REAL_DATA


@pytest.fixture(scope="session")
def _fitted_detectors() -> dict:
    """Detectors fitted in this session, keyed by their input and parameters."""
    return {}


@pytest.fixture
def fast_training(monkeypatch, settings, tmp_path, _fitted_detectors):
    """Make training reuse a detector already fitted on identical input in this session.

    Fitting is deterministic for a given matrix, seed and parameters, so reusing it changes no
    result; it only keeps the many tests that need a trained model fast. Artifacts go to tmp_path.
    """
    import hashlib

    from detection import estimators, services

    settings.ARTIFACTS_DIR = tmp_path / "artifacts"

    def cached_fit(matrix, **kwargs):
        key = (hashlib.sha1(matrix.tobytes()).hexdigest(), tuple(sorted(kwargs.items(), key=str)))
        key = str(key)
        if key not in _fitted_detectors:
            _fitted_detectors[key] = estimators.fit_detector(matrix, **kwargs)
        return _fitted_detectors[key]

    monkeypatch.setattr(services, "fit_detector", cached_fit)
    return services


@pytest.fixture
def trained_version(db, demo_csv, fast_training):
    """Generated data ingested and a model trained (3 epochs) and active."""
    from transactions.services import ingest_file

    ingest_file(demo_csv)
    return fast_training.train_and_activate(epochs=3, seed=0)


ANALYST_GROUP = "Analyst"


@pytest.fixture
def analyst(db) -> User:
    user = User.objects.create_user("ana", "ana@example.com", "ana-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name=ANALYST_GROUP))
    return user


def logged_in(user: User | None, client_class: type[Client] = Client) -> Client:
    """A `client_class` client logged in (session) as `user`; anonymous when `user` is None."""
    client = client_class()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def analyst_client(analyst) -> Client:
    return logged_in(analyst)


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
