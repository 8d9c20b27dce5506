"""The score table's PostgreSQL indexes for the grid's text "contains" and unit price filters (migration
detection/0013): trigram indexes the grid's contains filter can use, the unit price index; none on SQLite."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.grid import ColumnFilter, scores_page
from detection.models import ModelVersion, TransactionScore
from tests.migration_states import migrate, migrate_to_latest

TRIGRAM_INDEXES = {f"score_{column}_trgm": column for column in ("invoice_no", "stock_code", "description", "country")}
BEFORE_THE_INDEXES = [("detection", "0012_score_transaction_columns")]
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_trgm and GIN indexes exist on PostgreSQL only"
)


def score_indexes() -> dict[str, dict]:
    """The score table's indexes and constraints by name, as the database reports them."""
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, TransactionScore._meta.db_table)


@postgresql_only
@pytest.mark.django_db
def test_the_unit_price_filter_has_an_index_led_by_the_price() -> None:
    index = score_indexes()["score_unit_price"]
    assert index["index"] and index["columns"] == ["unit_price", "model_version_id", "transaction_id"]


@postgresql_only
@pytest.mark.django_db
def test_the_text_columns_have_trigram_indexes_on_their_upper_case() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() is not None
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TransactionScore._meta.db_table]
        )
        definitions = dict(cursor.fetchall())
    for name, column in TRIGRAM_INDEXES.items():
        assert f"USING gin (upper(({column})::text) gin_trgm_ops)" in definitions[name]


@pytest.mark.django_db(transaction=True)
def test_the_migration_adds_and_removes_the_indexes() -> None:
    migrate(BEFORE_THE_INDEXES)
    assert not set(score_indexes()) & {"score_unit_price", *TRIGRAM_INDEXES}
    migrate_to_latest()
    added = {"score_unit_price", *TRIGRAM_INDEXES}
    if connection.vendor == "postgresql":
        assert added <= set(score_indexes())
    else:
        assert not added & set(score_indexes())


@postgresql_only
@pytest.mark.django_db
@pytest.mark.parametrize("column", sorted(TRIGRAM_INDEXES.values()))
def test_the_grid_contains_filter_can_read_its_rows_from_the_trigram_index(
    trained_version: ModelVersion, column: str
) -> None:
    """The count the grid runs for a contains filter: its condition matches the index's expression,
    so the planner can take the index (it does on the real file's 401,604 rows, bench/dashboard_scale.py;
    on a test table it prefers reading the table unless told otherwise)."""
    with CaptureQueriesContext(connection) as queries:
        scores_page(limit=10, filters=(ColumnFilter(column, "contains", "heart"),), version=trained_version)
    count = next(query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"].upper())
    assert "UPPER(" in count.upper()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {count}")
        plan = json.dumps(cursor.fetchone()[0])
    assert f"score_{column}_trgm" in plan, plan
