"""Small hand-built versions: score rows with known scores and flags, and analysts' verdicts on some."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from detection.models import ModelVersion, TransactionScore
from tests.conftest import clear_cache
from tests.factories import (
    START,
    CustomerFactory,
    ImportBatchFactory,
    ModelVersionFactory,
    ReviewFactory,
    TransactionFactory,
    TransactionScoreFactory,
)

ACTIVATED = START + timedelta(days=30)


@pytest.fixture(autouse=True)
def _empty_cache(request):
    """The dashboard's label metrics are cached per version: start every test without them."""
    clear_cache(request)
    yield


@dataclass(frozen=True)
class Row:
    """One scored row of the fixture: its score, flag, verdict and when the verdict came."""

    score: float
    flagged: bool
    status: str | None = None  # a closed review's status, or "investigating", or None (no review)
    closed_hours: float | None = None  # hours after ACTIVATED
    arrived_hours: float | None = None  # its import batch finished this many hours after ACTIVATED


ROWS = [
    Row(0.99, True, "confirmed_fraud", 2.0),
    Row(0.98, True, "false_positive", 5.0),
    Row(0.97, True, "confirmed_fraud", 30.0, arrived_hours=24.0),  # arrived after activation: 6 h
    Row(0.96, True),
    Row(0.95, True, "investigating"),
    Row(0.94, True, "confirmed_fraud", -10.0),  # the verdict of an earlier version's alert
    Row(0.90, False, "false_positive", 1.0),  # reviewed but not flagged by this version
    Row(0.80, True, "false_positive", 50.0),
    Row(0.70, False),
    Row(0.60, True, "confirmed_fraud", 8.0),
    Row(0.50, False),
    Row(0.40, False, "confirmed_fraud", 3.0),
]


def at(hours: float | None) -> datetime | None:
    return None if hours is None else ACTIVATED + timedelta(hours=hours)


def build_version(rows: list[Row], **version_fields) -> tuple[ModelVersion, list[TransactionScore]]:
    """An active version (activated at ACTIVATED) with one score row and at most one review per `rows` item."""
    version = ModelVersionFactory(activated_at=ACTIVATED, training_rows=len(rows), **version_fields)
    customer = CustomerFactory()
    scores = []
    for row in rows:  # a dozen fixture rows
        batch = ImportBatchFactory(finished_at=at(row.arrived_hours))
        transaction = TransactionFactory(customer=customer, batch=batch)
        scores.append(
            TransactionScoreFactory(
                transaction=transaction, model_version=version, anomaly_score=row.score, is_flagged=row.flagged
            )
        )
        if row.status is not None:
            ReviewFactory(transaction=transaction, status=row.status, closed_at=at(row.closed_hours))
    return version, scores


@pytest.fixture
def labelled(db) -> tuple[ModelVersion, list[TransactionScore]]:
    return build_version(ROWS, metrics={"labels_confirmed": 4, "labels_false_positive": 2, "rows": len(ROWS)})
