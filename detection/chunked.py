"""Scoring of a large batch in parallel: id-range chunks run as separate django-q2 tasks, each idempotent.

A chunk reads only the rows of its range that have no score under the version yet and inserts
with ON CONFLICT DO NOTHING against the unique (model_version, transaction) constraint, so a chunk
that runs again (a worker died after committing, a broker re-delivered it, two workers took it)
writes each score exactly once. With the Redis broker, workers on several machines share the queue.
"""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django_q.tasks import async_task

from transactions.models import Transaction
from transactions.selectors import scoreable_transactions, transactions_frame

from .errors import NoActiveModel
from .models import ModelVersion, TransactionScore
from .services import active_version, score_against_stored, write_scores

CHUNK_ROWS = 50_000
TASK = "detection.tasks.score_id_range"


def unscored_transactions(version: ModelVersion) -> QuerySet[Transaction]:
    """Scoreable rows that have no score under `version`."""
    return scoreable_transactions().filter(
        ~Exists(TransactionScore.objects.filter(model_version=version, transaction_id=OuterRef("pk")))
    )


def unscored_id_ranges(version: ModelVersion, *, chunk_rows: int = CHUNK_ROWS) -> list[tuple[int, int]]:
    """Return inclusive (first_id, last_id) ranges covering every unscored row, at most `chunk_rows` rows each."""
    ids = np.fromiter(
        unscored_transactions(version).order_by("id").values_list("id", flat=True).iterator(chunk_size=50_000),
        dtype=np.int64,
    )
    if len(ids) == 0:
        return []
    starts = np.arange(0, len(ids), chunk_rows)
    ends = np.minimum(starts + chunk_rows, len(ids)) - 1
    return list(zip(ids[starts].tolist(), ids[ends].tolist(), strict=True))


def score_id_range(version_id: int, first_id: int, last_id: int) -> int:
    """Score the unscored rows with first_id <= id <= last_id under the version; return the scores written.

    Safe to run any number of times, also concurrently: a row already scored is neither read nor written.
    """
    version = ModelVersion.objects.get(pk=version_id)
    frame = transactions_frame(unscored_transactions(version).filter(id__range=(first_id, last_id)))
    if frame.empty:
        return 0
    scores = score_against_stored(frame, version)
    with transaction.atomic():
        return write_scores(version, scores, ignore_conflicts=True)


def enqueue_chunked_scoring(
    *, version: ModelVersion | None = None, chunk_rows: int = CHUNK_ROWS
) -> tuple[str, list[tuple[int, int]]]:
    """Queue one scoring task per id range of unscored rows; return the task group and the ranges.

    Raises NoActiveModel when no version is active. In sync mode (Q_SYNC=1) every chunk has run
    when this returns.
    """
    version = version or active_version()
    if version is None:
        raise NoActiveModel()
    ranges = unscored_id_ranges(version, chunk_rows=chunk_rows)
    group = f"score-v{version.pk}-{ranges[0][0]}-{ranges[-1][1]}" if ranges else f"score-v{version.pk}-none"
    sync = bool(settings.Q_CLUSTER.get("sync", False))
    for first_id, last_id in ranges:
        async_task(TASK, version.pk, first_id, last_id, group=group, sync=sync)
    return group, ranges
