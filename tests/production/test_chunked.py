"""Chunked scoring: id ranges, idempotent chunks, the same scores as training (django-q2 in sync mode)."""

from __future__ import annotations

import numpy as np
import pytest

from detection import chunked
from detection.models import ModelVersion, TransactionScore
from detection.services import score_against_stored, score_new_transactions, write_scores
from tests.score_copies import stale_copies
from transactions.selectors import scoreable_transactions, transactions_frame


@pytest.fixture
def sync_tasks(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


def _stored_scores(version: ModelVersion) -> dict[int, float]:
    return dict(TransactionScore.objects.filter(model_version=version).values_list("transaction_id", "anomaly_score"))


def test_ranges_cover_every_unscored_row_once_within_the_chunk_size(trained_version: ModelVersion) -> None:
    ids = list(scoreable_transactions().order_by("id").values_list("id", flat=True))
    dropped = ids[::3]
    TransactionScore.objects.filter(model_version=trained_version, transaction_id__in=dropped).delete()

    ranges = chunked.unscored_id_ranges(trained_version, chunk_rows=100)

    covered = [i for first, last in ranges for i in dropped if first <= i <= last]
    assert covered == dropped
    assert all(sum(first <= i <= last for i in dropped) <= 100 for first, last in ranges)
    assert len(ranges) == -(-len(dropped) // 100)


def test_chunked_scoring_restores_the_training_scores(trained_version: ModelVersion, sync_tasks) -> None:
    before = _stored_scores(trained_version)
    TransactionScore.objects.filter(model_version=trained_version).delete()

    group, ranges = chunked.enqueue_chunked_scoring(chunk_rows=250)

    after = _stored_scores(trained_version)
    assert len(ranges) == -(-len(before) // 250) > 1
    assert group.startswith(f"score-v{trained_version.pk}-")
    assert sorted(after) == sorted(before)
    keys = sorted(before)
    assert np.array([after[k] for k in keys]) == pytest.approx(np.array([before[k] for k in keys]), abs=1e-6)
    assert stale_copies(TransactionScore.objects.filter(model_version=trained_version)) == 0


def test_scattered_rows_are_written_with_their_transaction_columns(trained_version: ModelVersion) -> None:
    scores = TransactionScore.objects.filter(model_version=trained_version)
    dropped = list(scores.order_by("transaction_id").values_list("transaction_id", flat=True)[::7])
    scores.filter(transaction_id__in=dropped).delete()

    assert score_new_transactions(version=trained_version) == len(dropped)  # ids 7 apart: read by id

    assert stale_copies(scores.filter(transaction_id__in=dropped)) == 0


def test_a_rerun_chunk_writes_nothing(trained_version: ModelVersion) -> None:
    TransactionScore.objects.filter(model_version=trained_version).delete()
    ids = list(scoreable_transactions().order_by("id").values_list("id", flat=True))

    first = chunked.score_id_range(trained_version.pk, ids[0], ids[499])
    again = chunked.score_id_range(trained_version.pk, ids[0], ids[499])

    assert (first, again) == (500, 0)
    assert TransactionScore.objects.filter(model_version=trained_version).count() == 500


def test_two_workers_on_the_same_chunk_write_each_score_once(trained_version: ModelVersion) -> None:
    TransactionScore.objects.filter(model_version=trained_version).delete()
    ids = list(scoreable_transactions().order_by("id").values_list("id", flat=True))[:300]
    # The second worker read the chunk before the first committed: it holds scores for all 300 rows.
    late_scores = score_against_stored(transactions_frame(scoreable_transactions().filter(id__in=ids)), trained_version)

    written_first = chunked.score_id_range(trained_version.pk, ids[0], ids[-1])
    written_late = write_scores(trained_version, late_scores, ignore_conflicts=True)

    assert (written_first, written_late) == (300, 0)
    assert TransactionScore.objects.filter(model_version=trained_version).count() == 300


def test_only_missing_rows_of_a_range_are_scored(trained_version: ModelVersion) -> None:
    ids = list(scoreable_transactions().order_by("id").values_list("id", flat=True))
    TransactionScore.objects.filter(model_version=trained_version, transaction_id__in=ids[10:20]).delete()

    written = chunked.score_id_range(trained_version.pk, ids[0], ids[-1])

    assert written == 10
    assert TransactionScore.objects.filter(model_version=trained_version).count() == len(ids)


def test_nothing_to_score_queues_nothing(trained_version: ModelVersion, sync_tasks) -> None:
    group, ranges = chunked.enqueue_chunked_scoring()

    assert ranges == []
    assert group == f"score-v{trained_version.pk}-none"
