"""The score table's planner statistics after training: a filter no index serves reads the table once."""

from __future__ import annotations

import pytest
from django.db import connection

from detection.grid import ColumnFilter, _filter_q, scores_for
from detection.models import ModelVersion, TransactionScore

pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    sql, params = queryset.order_by().values("transaction_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's ANALYZE and query plans")
def test_a_text_filter_over_a_version_scans_the_table_instead_of_an_index_row_by_row(
    trained_version: ModelVersion,
) -> None:
    rows = TransactionScore.objects.filter(model_version=trained_version).count()
    assert rows > 1_000  # more than an approximate ANALYZE reads per index
    for condition in (ColumnFilter("description", "contains", "heart"), ColumnFilter("unit_price", "gt", 3)):
        chosen = plan(scores_for(trained_version).filter(_filter_q(condition)))
        assert chosen.startswith("SCAN detection_transactionscore"), (condition, chosen)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's ANALYZE and query plans")
def test_a_customers_rows_still_use_the_customer_index(trained_version: ModelVersion) -> None:
    customer = TransactionScore.objects.filter(model_version=trained_version).values_list("customer_id", flat=True)[0]
    chosen = plan(scores_for(trained_version).filter(customer_id=customer).order_by("-anomaly_score"))
    assert "score_customer" in chosen, chosen
