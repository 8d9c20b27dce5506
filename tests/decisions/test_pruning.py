"""Pruning or failing a model version deletes its score rows and their decisions table by table,
without loading the rows (core.bulk_delete), and leaves every other version's rows alone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.signals import post_delete
from django.test.utils import CaptureQueriesContext

from core.bulk_delete import delete_in_bulk
from decisions import services
from decisions.models import TransactionDecision
from detection.models import ModelVersion, TransactionScore
from detection.services import fail_version, prune_old_versions
from tests.decisions.conftest import varied_scores
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_decided_versions(version, scores) -> tuple[ModelVersion, ModelVersion]:
    """The active version's 120 decided rows, and a never-activated version with 80 decided rows."""
    other = ModelVersionFactory(is_active=False, status=ModelVersion.Status.RETIRED, activated_at=None)
    varied_scores(other, 80, seed=5)
    services.redecide_version(version=version)
    services.redecide_version(version=other)
    assert TransactionDecision.objects.filter(model_version=other).count() == 80
    return version, other


def test_pruning_deletes_a_versions_scores_and_decisions_in_a_statement_per_table(two_decided_versions):
    kept, pruned = two_decided_versions
    with CaptureQueriesContext(connection) as queries:
        prune_old_versions()

    deletes = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("DELETE")]
    assert len(deletes) <= 3  # decisions, scores, daily counts: no batch of ids per 100 rows
    assert not any(
        'SELECT "detection_transactionscore"."id", "detection_transactionscore"."transaction_id"' in q["sql"]
        for q in queries.captured_queries
    )  # the rows were never loaded
    assert not TransactionScore.objects.filter(model_version=pruned).exists()
    assert not TransactionDecision.objects.filter(model_version=pruned).exists()
    assert TransactionScore.objects.filter(model_version=kept).count() == 120
    assert TransactionDecision.objects.filter(model_version=kept).count() == 120


def test_failing_a_version_deletes_its_decided_scores(two_decided_versions):
    kept, failed = two_decided_versions
    failed.status = ModelVersion.Status.TRAINING
    failed.save()
    fail_version(failed.pk, "broken")
    assert not TransactionScore.objects.filter(model_version=failed).exists()
    assert not TransactionDecision.objects.filter(score__model_version=failed).exists()
    assert TransactionDecision.objects.filter(model_version=kept).count() == 120


def test_a_delete_receiver_gets_every_row_through_djangos_own_delete(two_decided_versions):
    _, pruned = two_decided_versions
    seen: list[int] = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_delete.connect(receiver, sender=TransactionDecision)
    try:
        deleted = delete_in_bulk(TransactionScore.objects.filter(model_version=pruned))
    finally:
        post_delete.disconnect(receiver, sender=TransactionDecision)
    assert deleted == 80 and len(seen) == 80
    assert not TransactionDecision.objects.filter(model_version=pruned).exists()
