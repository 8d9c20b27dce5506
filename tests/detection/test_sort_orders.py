"""The grid's stored sort orders (detection.sort_orders): pages served from them, and when they are not used."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from detection import grid, sort_orders
from detection.grid import INDEXED_SORTS, STORED_SORTS, WALKED_ROWS, ColumnFilter, scores_page, write_sort_orders
from detection.models import ModelVersion, TransactionScore
from tests.detection.test_grid import FILTER_CASES, page_as_before
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_process(monkeypatch) -> None:
    """No order kept by this process: as in a worker that has served no page yet."""
    monkeypatch.setattr(grid, "_SORTED_ORDERS", type(grid._SORTED_ORDERS)())


def page_queries(version: ModelVersion, **arguments) -> tuple[list[dict], int, list[str]]:
    """scores_page(**arguments) and the SQL it ran."""
    with CaptureQueriesContext(connection) as queries:
        rows, total = scores_page(version=version, **arguments)
    return rows, total, [query["sql"] for query in queries.captured_queries]


def test_every_stored_sort_pages_as_one_offset_query_without_reading_the_order(
    trained_version: ModelVersion, fresh_process
) -> None:
    written = write_sort_orders(trained_version)
    every = [*STORED_SORTS, *INDEXED_SORTS]
    assert sorted(written) == sorted([*every, *(f"-{name}" for name in every)])
    total = TransactionScore.objects.filter(model_version=trained_version).count()
    for key in [*STORED_SORTS, *(f"-{name}" for name in STORED_SORTS)]:
        for offset in (0, total // 2 + 7, total - 60):
            rows, count, sql = page_queries(trained_version, offset=offset, limit=100, order_by=(key,))
            assert rows == page_as_before(trained_version, offset=offset, limit=100, order_by=(key,), orm=Q()), (
                key,
                offset,
            )
            assert count == total
            assert len(sql) == 2 and not any("ORDER BY" in query for query in sql), (key, sql)  # count, rows


@FILTER_CASES
def test_a_filtered_page_keeps_the_stored_order_of_its_matching_rows(
    trained_version: ModelVersion, fresh_process, condition: ColumnFilter, orm: Q
) -> None:
    write_sort_orders(trained_version)
    for order_by in (("description",), ("-quantity",), ("customer_id",), ("-zscore",)):
        for offset in (0, 40):
            rows, count, sql = page_queries(
                trained_version, offset=offset, limit=50, order_by=order_by, filters=(condition,)
            )
            assert rows == page_as_before(trained_version, offset=offset, limit=50, order_by=order_by, orm=orm)
            assert count == TransactionScore.objects.filter(orm).count() > 0
            # the matching rows (and so their count) in no order, then the page's rows: never sorted by the database
            assert len(sql) == 2 and not any("ORDER BY" in query for query in sql), (order_by, sql)


def test_a_deep_filtered_page_of_an_indexed_sort_reads_the_stored_order_not_the_database(
    trained_version: ModelVersion, fresh_process
) -> None:
    write_sort_orders(trained_version)
    filters, orm = (ColumnFilter("quantity", "gt", 0),), Q(transaction__quantity__gt=0)
    matching = TransactionScore.objects.filter(orm, model_version=trained_version).count()
    assert matching > WALKED_ROWS + 50
    for name in INDEXED_SORTS:
        for key in (name, f"-{name}"):
            rows, count, sql = page_queries(
                trained_version, offset=WALKED_ROWS, limit=50, order_by=(key,), filters=filters
            )
            assert rows == page_as_before(trained_version, offset=WALKED_ROWS, limit=50, order_by=(key,), orm=orm)
            assert count == matching
            # the matching ids, then the page's rows: the version's order came from its file
            assert len(sql) == 2 and not any("ORDER BY" in query for query in sql), (key, sql)


def test_the_matching_rows_of_a_filter_on_a_transaction_column_are_read_without_a_join(
    trained_version: ModelVersion, fresh_process
) -> None:
    write_sort_orders(trained_version)
    filters = (ColumnFilter("quantity", "gt", 5),)
    rows, count, sql = page_queries(trained_version, offset=20, limit=50, order_by=("customer_id",), filters=filters)
    assert count == TransactionScore.objects.filter(model_version=trained_version, transaction__quantity__gt=5).count()
    assert rows == page_as_before(
        trained_version, offset=20, limit=50, order_by=("customer_id",), orm=Q(transaction__quantity__gt=5)
    )
    assert len(sql) == 2 and not any("JOIN" in query for query in sql), sql


def test_rows_scored_after_the_orders_were_stored_are_paged_from_the_database(
    trained_version: ModelVersion, fresh_process
) -> None:
    scores = TransactionScore.objects.filter(model_version=trained_version)
    late = scores.order_by("-transaction__quantity", "transaction_id")[3]
    late.delete()
    write_sort_orders(trained_version)  # stored without the row
    late.pk = None
    late.save()  # scored again after: the stored orders miss it
    total = scores.count()
    for filters, orm in (((), Q()), ((ColumnFilter("quantity", "gt", 0),), Q(transaction__quantity__gt=0))):
        rows, count, sql = page_queries(
            trained_version, offset=0, limit=total, order_by=("-quantity",), filters=filters
        )
        assert count == len(rows)
        assert rows == page_as_before(trained_version, offset=0, limit=total, order_by=("-quantity",), orm=orm)
        assert late.transaction_id in [row["transaction_id"] for row in rows]
        assert any("ORDER BY" in query for query in sql)  # the whole order read once more


def test_deleting_a_transaction_drops_the_stored_orders(trained_version: ModelVersion, fresh_process) -> None:
    write_sort_orders(trained_version)
    assert sort_orders.load_order(trained_version.pk, "description") is not None
    gone = Transaction.objects.filter(scores__model_version=trained_version).order_by("description", "pk").first()
    gone.delete()
    assert not sort_orders.orders_folder(trained_version.pk).exists()
    total = TransactionScore.objects.filter(model_version=trained_version).count()
    rows, count = scores_page(offset=0, limit=total, order_by=("description",), version=trained_version)
    assert count == total and gone.pk not in [row["transaction_id"] for row in rows]
    assert rows == page_as_before(trained_version, offset=0, limit=total, order_by=("description",), orm=Q())


def test_a_pruned_version_gets_no_orders(trained_version: ModelVersion) -> None:
    TransactionScore.objects.filter(model_version=trained_version).delete()
    assert write_sort_orders(trained_version) == []
    assert not sort_orders.orders_folder(trained_version.pk).exists()


def test_training_queues_the_orders_of_its_version(sync_jobs, trained_version: ModelVersion) -> None:
    # sync_jobs first: the training in trained_version ran its queued tasks in this process
    for name in STORED_SORTS:
        for key in (name, f"-{name}"):
            order = sort_orders.load_order(trained_version.pk, key)
            assert order is not None and len(order) == trained_version.scores.count(), key


def test_a_queue_that_cannot_be_reached_costs_no_training(monkeypatch, caplog) -> None:
    import django_q.tasks

    def unreachable(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(django_q.tasks, "async_task", unreachable)
    sort_orders.queue_writing(7)  # logged, not raised
    assert "v7 could not be queued: broker down" in caplog.text


def test_a_filter_that_matches_nothing_gives_an_empty_page(trained_version: ModelVersion, fresh_process) -> None:
    write_sort_orders(trained_version)
    nowhere = (ColumnFilter("country", "eq", "Atlantis"),)
    assert scores_page(offset=0, limit=50, order_by=("-zscore",), filters=nowhere, version=trained_version) == ([], 0)
