"""The dashboard's reads: score table pages (detection.grid) and customer look-ups (transactions.selectors)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext

from detection import grid
from detection.fields import COPIED_KEYS, ORM_PATHS, TABLE_FIELDS
from detection.grid import ColumnFilter, scores_page, tiebreaker
from detection.models import ModelVersion, TransactionScore
from detection.selectors import customers_by_anomalies, listed_rows
from tests.score_copies import stale_copies
from transactions.models import Customer
from transactions.selectors import search_customers

pytestmark = pytest.mark.django_db


def test_scores_page_orders_pages_and_counts_in_three_queries(
    trained_version: ModelVersion, django_assert_num_queries
) -> None:
    scores = TransactionScore.objects.filter(model_version=trained_version)
    with django_assert_num_queries(3):
        rows, total = scores_page(offset=50, limit=25, order_by=("-total_spent",), version=trained_version)
    expected = list(scores.order_by("-total_spent", "transaction_id").values_list("transaction_id", flat=True)[50:75])
    assert [row["transaction_id"] for row in rows] == expected
    assert total == scores.count()
    assert {"invoice_no", "description", "risk_score", "explanation"} <= set(rows[0])


@pytest.mark.parametrize(
    ("condition", "orm"),
    [
        (ColumnFilter("quantity", "gt", 20), Q(transaction__quantity__gt=20)),
        (ColumnFilter("quantity", "lte", 2), Q(transaction__quantity__lte=2)),
        (ColumnFilter("anomaly_score", "between", 0.5, 0.9), Q(anomaly_score__gte=0.5, anomaly_score__lte=0.9)),
        (ColumnFilter("country", "eq", "France"), Q(country="France")),
        (ColumnFilter("country", "ne", "United Kingdom"), ~Q(country="United Kingdom")),
        (ColumnFilter("description", "contains", "heart"), Q(transaction__description__icontains="heart")),
        (ColumnFilter("invoice_no", "startswith", "c"), Q(transaction__invoice_no__istartswith="c")),
        # the text and price filters migration 0013 indexes (trigram indexes on PostgreSQL)
        (ColumnFilter("description", "contains", "CAFÉ S"), Q(transaction__description__icontains="CAFÉ S")),
        (ColumnFilter("stock_code", "contains", "491"), Q(transaction__stock_code__icontains="491")),
        (ColumnFilter("invoice_no", "contains", "c5"), Q(transaction__invoice_no__icontains="c5")),
        (ColumnFilter("country", "contains", "GER"), Q(transaction__country__icontains="GER")),
        (ColumnFilter("unit_price", "gt", 3), Q(transaction__unit_price__gt=3)),
        (ColumnFilter("unit_price", "lt", 1), Q(transaction__unit_price__lt=1)),
        (ColumnFilter("quantity_spike", "is_true"), Q(quantity_spike=True)),
        (ColumnFilter("iso_forest_flag", "is_false"), Q(iso_forest_flag=False)),
    ],
    ids=lambda item: f"{item.field}-{item.op}" if isinstance(item, ColumnFilter) else "",
)
def test_scores_page_filters_match_the_orm(trained_version: ModelVersion, condition: ColumnFilter, orm: Q) -> None:
    expected = (
        TransactionScore.objects.filter(model_version=trained_version)
        .filter(orm)
        .order_by("-anomaly_score", "transaction_id")
        .values_list("transaction_id", flat=True)
    )
    rows, total = scores_page(limit=500, filters=(condition,))
    assert total == expected.count() > 0
    assert [row["transaction_id"] for row in rows] == list(expected[:500])


@pytest.mark.parametrize(
    "arguments",
    [
        {"order_by": ("-explanation",)},
        {"order_by": ("nonsense",)},
        {"filters": (ColumnFilter("explanation", "contains", "x"),)},
        {"filters": (ColumnFilter("quantity", "regex", ".*"),)},
    ],
)
def test_scores_page_refuses_unknown_fields_and_operators(trained_version: ModelVersion, arguments: dict) -> None:
    with pytest.raises(ValueError):
        scores_page(**arguments)


def test_customers_by_anomalies_lists_the_most_flagged_first(trained_version: ModelVersion) -> None:
    top = customers_by_anomalies(limit=5)
    counts = dict(
        TransactionScore.objects.filter(model_version=trained_version)
        .values_list("customer_id")
        .annotate(flagged=Count("id", filter=Q(is_flagged=True)))
    )
    assert len(top) == 5
    assert [item["flagged"] for item in top] == sorted(counts.values(), reverse=True)[:5]
    assert all(counts[item["customer_id"]] == item["flagged"] for item in top)


def test_search_customers_matches_the_id_prefix_only(trained_version: ModelVersion) -> None:
    some = Customer.objects.order_by("customer_id").first().customer_id
    prefix = str(some)[:2]
    found = search_customers(prefix, limit=500)
    expected = list(Customer.objects.order_by("customer_id").values_list("customer_id", flat=True))
    assert [item["customer_id"] for item in found] == [c for c in expected if str(c).startswith(prefix)][:500]
    assert search_customers(str(some))[0] == {"customer_id": some, "country": Customer.objects.get(pk=some).country}
    assert search_customers("abc") == [] and search_customers("") == []


# The transaction's columns read through the join, as before the score table had copies of them.
JOINED_PATHS = {**ORM_PATHS, **{key: f"transaction__{key}" for key in COPIED_KEYS}}


def page_as_before(version: ModelVersion, *, offset: int, limit: int, order_by: tuple[str, ...], orm: Q) -> list[dict]:
    """A page as the grid read it before its sort indexes and copied columns: one ordered, joined, offset
    query, sorting on and showing the transaction's own columns."""
    ordering = [("-" if key.startswith("-") else "") + JOINED_PATHS[key.removeprefix("-")] for key in order_by]
    scores = TransactionScore.objects.filter(orm, model_version=version)
    page = scores.order_by(*ordering, tiebreaker(order_by))[offset : offset + limit]
    items = page.values(*JOINED_PATHS.values())
    return listed_rows([{ORM_PATHS[key]: item[path] for key, path in JOINED_PATHS.items()} for item in items])


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_every_sort_pages_exactly_as_one_offset_query(trained_version: ModelVersion, descending: bool) -> None:
    total = TransactionScore.objects.filter(model_version=trained_version).count()
    for field in TABLE_FIELDS:
        order_by = (("-" if descending else "") + field,)
        # the first half is read forwards, the second half backwards from the end
        for offset in (0, 1_000, total // 2 - 50, total // 2 + 7, total - 60, total + 5):
            rows, count = scores_page(offset=offset, limit=100, order_by=order_by, version=trained_version)
            expected = page_as_before(trained_version, offset=offset, limit=100, order_by=order_by, orm=Q())
            assert rows == expected and count == total, (field, offset)
            assert len(rows) == max(0, min(100, total - offset))


# One filter per kind of column (flag, score column, transaction number, transaction text) and the ORM
# condition it stands for: the filtered-page tests here and in test_sort_orders.
FILTER_CASES = pytest.mark.parametrize(
    ("condition", "orm"),
    [
        (ColumnFilter("is_flagged", "is_true"), Q(is_flagged=True)),
        (ColumnFilter("country", "eq", "France"), Q(country="France")),
        (ColumnFilter("quantity", "gt", 5), Q(transaction__quantity__gt=5)),
        (ColumnFilter("description", "contains", "heart"), Q(transaction__description__icontains="heart")),
        (ColumnFilter("unit_price", "gt", 3), Q(transaction__unit_price__gt=3)),
    ],
    ids=lambda item: f"{item.field}-{item.op}" if isinstance(item, ColumnFilter) else "",
)


@FILTER_CASES
def test_filtered_sorted_pages_match_one_offset_query(trained_version: ModelVersion, condition, orm: Q) -> None:
    for order_by in (("-anomaly_score",), ("total_spent",), ("-invoice_date",), ("description", "-quantity")):
        for offset in (0, 40):
            rows, count = scores_page(
                offset=offset, limit=50, order_by=order_by, filters=(condition,), version=trained_version
            )
            expected = page_as_before(trained_version, offset=offset, limit=50, order_by=order_by, orm=orm)
            assert rows == expected and count == TransactionScore.objects.filter(orm).count() > 0, order_by


@FILTER_CASES
def test_deep_filtered_pages_of_indexed_sorts_are_slices_of_the_version_order(
    trained_version: ModelVersion, condition, orm: Q, monkeypatch
) -> None:
    """From grid.WALKED_ROWS on, no query walks the sort index past the rows it skips (no OFFSET)."""
    monkeypatch.setattr(grid, "WALKED_ROWS", 20)  # the demo filters match few rows
    count = TransactionScore.objects.filter(orm).count()
    for order_by in (("-anomaly_score",), ("anomaly_score",), ("total_spent",), ("-invoice_date",)):
        for offset in (20, 35, max(count - 10, 20)):
            with CaptureQueriesContext(connection) as queries:
                rows, total = scores_page(
                    offset=offset, limit=25, order_by=order_by, filters=(condition,), version=trained_version
                )
            expected = page_as_before(trained_version, offset=offset, limit=25, order_by=order_by, orm=orm)
            assert rows == expected and total == count > 0, (order_by, offset)
            assert not any("OFFSET" in query["sql"] for query in queries.captured_queries), (order_by, offset)


def test_training_writes_the_transaction_columns_into_every_score_row(trained_version: ModelVersion) -> None:
    scores = TransactionScore.objects.filter(model_version=trained_version)
    assert scores.count() > 1_000 and stale_copies(scores) == 0


@pytest.mark.parametrize("order_by", [("-anomaly_score",), ("customer_id",), ("description", "-quantity")])
def test_a_filter_on_transaction_columns_reads_the_score_table_alone(
    trained_version: ModelVersion, order_by: tuple[str, ...]
) -> None:
    filters = (ColumnFilter("quantity", "gt", 5), ColumnFilter("description", "contains", "heart"))
    with CaptureQueriesContext(connection) as queries:
        rows, total = scores_page(limit=50, order_by=order_by, filters=filters, version=trained_version)
    assert rows and total == TransactionScore.objects.filter(quantity__gt=5, description__icontains="heart").count()
    assert not any("JOIN" in query["sql"] for query in queries.captured_queries), order_by


def test_ties_break_by_transaction_id_in_the_direction_the_sort_index_is_read() -> None:
    assert tiebreaker(("-anomaly_score",)) == "transaction_id"  # score_rank read forwards
    assert tiebreaker(("anomaly_score",)) == "-transaction_id"  # the same index read backwards
    assert tiebreaker(("-total_spent",)) == "transaction_id"
    assert tiebreaker(("total_spent",)) == "-transaction_id"
    assert tiebreaker(("invoice_date",)) == "transaction_id"
    assert tiebreaker(("-invoice_date",)) == "-transaction_id"
    assert tiebreaker(("-quantity",)) == "transaction_id"  # no index: ascending ids
    assert tiebreaker(("anomaly_score", "quantity")) == "transaction_id"


def test_a_sort_without_an_index_reads_its_order_once_then_pages_from_it(trained_version: ModelVersion) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    total = TransactionScore.objects.filter(model_version=trained_version).count()
    order_by = ("-quantity",)
    scores_page(offset=0, limit=100, order_by=order_by, version=trained_version)  # reads the whole order
    with CaptureQueriesContext(connection) as queries:
        rows, count = scores_page(offset=total // 2, limit=100, order_by=order_by, version=trained_version)
    assert len(queries.captured_queries) == 2  # the count and the page's rows
    assert count == total
    assert rows == page_as_before(trained_version, offset=total // 2, limit=100, order_by=order_by, orm=Q())

    moved = TransactionScore.objects.filter(model_version=trained_version).order_by("id").first()
    moved.delete()  # one row fewer: a new order is read, without the deleted row
    rows, count = scores_page(offset=0, limit=total, order_by=order_by, version=trained_version)
    assert count == total - 1 and moved.transaction_id not in [row["transaction_id"] for row in rows]
