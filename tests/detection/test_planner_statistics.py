"""After a training run's bulk write the database has fresh planner statistics, so a customer's
ranked anomalies are read through the customer index, not by walking a whole version in a sort index."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.models import ModelVersion, TransactionScore
from detection.selectors import ranked_anomalies

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan and sqlite_stat1"),
]


def query_plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


def test_a_customers_ranked_anomalies_use_the_customer_index_after_training(trained_version: ModelVersion) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = %s", [TransactionScore._meta.db_table])
        assert cursor.fetchone()[0] > 0
    customer = TransactionScore.objects.filter(model_version=trained_version).values_list("customer_id", flat=True)[0]
    for metric in ("TotalSpent", "HistFreq"):
        with CaptureQueriesContext(connection) as queries:
            ranked_anomalies(metric=metric, customer_id=customer, version=trained_version)
        plan = query_plan(queries.captured_queries[-1]["sql"])
        assert "score_customer" in plan, plan


def test_an_ingest_leaves_statistics_of_the_transaction_tables(db, demo_csv) -> None:
    from transactions.services import ingest_file

    ingest_file(demo_csv)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        tables = {row[0] for row in cursor.fetchall()}
    assert {"transactions_transaction", "transactions_customer"} <= tables
