"""Prepared queries give the rows their querysets give, read fresh on every call."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.prepared import INT_MARKERS, PreparedQuery
from detection import selectors
from detection.fields import METRICS, ORM_PATHS
from detection.models import ModelVersion, TransactionScore
from tests.factories import CustomerFactory, ModelVersionFactory, TransactionFactory, TransactionScoreFactory
from transactions.models import Customer

pytestmark = pytest.mark.django_db

SCORE_COLUMNS = ("id", "invoice_date", "explanation", "is_flagged", "transaction__unit_price", "anomaly_score")


def line(customer_id: int, **fields):
    return TransactionFactory(customer=CustomerFactory(customer_id=customer_id), **fields)


def scores_of(customer_id: int):
    return TransactionScore.objects.filter(customer_id=customer_id).order_by("-anomaly_score", "id")


def test_rows_equal_the_querysets_rows_converted_alike() -> None:
    first, second, version = line(12345), line(12346), ModelVersionFactory()
    TransactionScoreFactory(transaction=first, model_version=version, flagged=True)
    TransactionScoreFactory(transaction=line(12345), model_version=version, anomaly_score=0.2)
    TransactionScoreFactory(transaction=second, model_version=version)
    query = PreparedQuery(
        TransactionScore, lambda customer: scores_of(customer).values_list(*SCORE_COLUMNS), INT_MARKERS[0]
    )

    for customer in (12345, 12346, 99999):
        expected = list(scores_of(customer).values_list(*SCORE_COLUMNS))
        assert query.rows(customer) == expected
        assert [type(value) for row in query.rows(customer) for value in row] == [
            type(value) for row in expected for value in row
        ]
    assert query.first(12345) == scores_of(12345).values_list(*SCORE_COLUMNS).first()
    assert query.first(99999) is None


def test_every_call_runs_the_query_again() -> None:
    query = PreparedQuery(TransactionScore, lambda customer: scores_of(customer).values_list("id"), INT_MARKERS[0])
    assert query.rows(12345) == []
    score = TransactionScoreFactory(transaction=line(12345), model_version=ModelVersionFactory())
    with CaptureQueriesContext(connection) as captured:
        assert query.rows(12345) == [(score.pk,)]
    assert len(captured) == 1


def test_a_marker_missing_from_the_sql_or_a_flat_queryset_is_refused() -> None:
    unused = PreparedQuery(
        TransactionScore, lambda customer: TransactionScore.objects.values_list("id"), INT_MARKERS[0]
    )
    with pytest.raises(ValueError, match="marker"):
        unused.rows(1)
    flat = PreparedQuery(TransactionScore, lambda: TransactionScore.objects.values_list("id", flat=True))
    with pytest.raises(TypeError):
        flat.rows()
    with pytest.raises(TypeError):
        PreparedQuery(TransactionScore, lambda customer: scores_of(customer).values_list("id"), INT_MARKERS[0]).rows()


def ranked_by_the_orm(*, metric: str, customer_id: int | None, scope: str, limit: int, version) -> list[dict]:
    """ranked_anomalies as it was written with the ORM before its query was prepared."""
    queryset = TransactionScore.objects.filter(model_version=version)
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    if scope == "flagged":
        queryset = queryset.filter(is_flagged=True)
    ordered = queryset.order_by(f"-{METRICS[metric]}", "-anomaly_score", "transaction_id")
    return selectors.listed_rows(ordered.values(*ORM_PATHS.values())[:limit])


def test_ranked_anomalies_equal_the_orm_querys_rows() -> None:
    old, version = ModelVersionFactory(is_active=False), ModelVersionFactory()
    for index in range(12):
        transaction = line(12345 + index % 3, quantity=index + 1)
        TransactionScoreFactory(transaction=transaction, model_version=version, flagged=index % 2 == 0)
        TransactionScoreFactory(transaction=transaction, model_version=old, flagged=True, total_spent=1e6)
    cases = itertools.product(METRICS, (12345, 12346, None, 99999), ("flagged", "all"), (1, 3, 10))
    for metric, customer_id, scope, limit in cases:
        arguments = {"metric": metric, "customer_id": customer_id, "scope": scope, "limit": limit, "version": version}
        assert selectors.ranked_anomalies(**arguments) == ranked_by_the_orm(**arguments), arguments


def test_the_active_version_is_read_fresh_with_the_fields_asked_for() -> None:
    assert selectors.active_model_version(only=("artifacts",)) is None
    first = ModelVersionFactory(artifacts={"model": {"path": "a", "sha256": "b"}})
    read = selectors.active_model_version(only=("artifacts",))
    assert (read.pk, read.artifacts) == (first.pk, first.artifacts)
    assert read.get_deferred_fields() == ModelVersion.objects.only("artifacts").get().get_deferred_fields()
    assert read.parameters == first.parameters  # read on first access, as with .only()
    assert selectors.active_model_version().get_deferred_fields() == set()

    first.is_active = False
    first.save()
    second = ModelVersionFactory()
    assert selectors.active_model_version(only=("id",)).pk == second.pk
    assert selectors.require_active_model_version().pk == second.pk
    with pytest.raises(FieldDoesNotExist):
        selectors.active_model_version(only=("no_such_field",))


@pytest.mark.parametrize("outside", [0, -1, 2**31, 2**63 + 5])
def test_ids_outside_the_columns_range_find_nothing_as_with_the_orm(outside) -> None:
    from transactions.selectors import customer_exists

    version = ModelVersionFactory()
    TransactionScoreFactory(transaction=line(12345), model_version=version, flagged=True)
    assert customer_exists(12345) and not customer_exists(12399)
    assert customer_exists(outside) is Customer.objects.filter(pk=outside).exists() is False
    arguments = {"metric": "TotalSpent", "customer_id": outside, "scope": "all", "limit": 10, "version": version}
    assert selectors.ranked_anomalies(**arguments) == ranked_by_the_orm(**arguments) == []
