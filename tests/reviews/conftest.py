"""Fixtures for the review tests: flagged rows built by factories, and a review's history as tuples."""

from __future__ import annotations

import pytest

from reviews.models import ReviewEvent
from tests.factories import ModelVersionFactory, TransactionScoreFactory


@pytest.fixture
def flagged_rows(db) -> list[int]:
    """Transaction ids of eight flagged score rows under one active version (no ingest, no training)."""
    version = ModelVersionFactory()
    return [TransactionScoreFactory(model_version=version, flagged=True).transaction_id for _ in range(8)]


def history(transaction_id: int) -> list[tuple[str, str, str | None]]:
    """(from, to, actor) of every change of the transaction's review, oldest first."""
    return list(
        ReviewEvent.objects.filter(review__transaction_id=transaction_id)
        .order_by("at", "id")
        .values_list("from_status", "to_status", "actor__username")
    )
