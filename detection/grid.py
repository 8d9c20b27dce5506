"""The score table's server-side reads for the dashboard grid: a small filter language, sorting, paging."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from django.db import connections
from django.db.models import Aggregate, Q, QuerySet, TextField

from . import sort_orders
from .fields import ORM_PATHS, TABLE_FIELDS
from .models import ModelVersion, TransactionScore
from .selectors import require_active_model_version, row_dicts, scores_for

FilterOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "between", "contains", "startswith", "is_true", "is_false"]
_LOOKUPS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "contains": "icontains", "startswith": "istartswith"}


@dataclass(frozen=True)
class ColumnFilter:
    """One condition on a TABLE_FIELDS key; `value_to` is the upper bound of "between"."""

    field: str
    op: FilterOp
    value: Any = None
    value_to: Any = None


def _filter_q(condition: ColumnFilter) -> Q:
    """The Q object for one ColumnFilter; ValueError names an unknown field or operator."""
    if condition.field not in TABLE_FIELDS:
        raise ValueError(f"cannot filter on {condition.field!r}")
    path = ORM_PATHS[condition.field]
    if condition.op == "eq":
        return Q(**{path: condition.value})
    if condition.op == "ne":
        return ~Q(**{path: condition.value})
    if condition.op == "between":
        return Q(**{f"{path}__gte": condition.value, f"{path}__lte": condition.value_to})
    if condition.op in ("is_true", "is_false"):
        # IN (x) rather than a bare boolean column: SQLite and PostgreSQL then use the flag's index.
        return Q(**{f"{path}__in": [condition.op == "is_true"]})
    if condition.op in _LOOKUPS:
        return Q(**{f"{path}__{_LOOKUPS[condition.op]}": condition.value})
    raise ValueError(f"unknown filter operator {condition.op!r}")


def scores_page(
    *,
    offset: int = 0,
    limit: int = 100,
    order_by: tuple[str, ...] = ("-anomaly_score",),
    filters: tuple[ColumnFilter, ...] = (),
    version: ModelVersion | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of score rows and the count of rows matching `filters`.

    `order_by` holds TABLE_FIELDS keys, "-" first for descending; transaction_id breaks ties so
    pages never overlap (`tiebreaker`). Raises ValueError naming an unknown field. Three queries;
    two for a sort without an index whose order is stored for the version (detection.sort_orders)
    or kept by this process already (`_sorted_ids`), and for a filtered page of an indexed sort from
    row WALKED_ROWS on (`_in_version_order`; three the first time in a process).
    """
    version = version or require_active_model_version()
    ordering = orm_ordering(order_by)
    queryset = scores_for(version)
    for condition in filters:
        queryset = queryset.filter(_filter_q(condition))
    deep_filtered = (
        _in_version_order(version, queryset, order_by, ordering) if filters and offset >= WALKED_ROWS else None
    )
    if deep_filtered is not None:
        ids, total = deep_filtered
        keys = ids[offset : offset + limit].tolist()
    elif order_by and order_by[0].removeprefix("-") not in INDEXED_SORTS:
        ids, total = _sorted_ids(version, queryset, order_by, ordering, filters=filters)
        keys = ids[offset : offset + limit].tolist()
    else:
        total = queryset.count()
        keys = _page_keys(queryset, ordering, offset=offset, limit=limit, total=total)
    # The page's rows by the unique (version, transaction) index, in no SQL order: with an ORDER BY,
    # SQLite walks a sort index over every row of the version instead. A row deleted in between
    # (its version pruned) is left out.
    rows = {row["transaction_id"]: row for row in row_dicts(scores_for(version).filter(transaction_id__in=keys))}
    return [rows[key] for key in keys if key in rows], total


def orm_ordering(order_by: tuple[str, ...]) -> list[str]:
    """The ORM ordering of `order_by` (TABLE_FIELDS keys) with its tiebreaker; ValueError names an
    unknown field."""
    ordering = []
    for key in order_by:
        name = key.removeprefix("-")
        if name not in TABLE_FIELDS:
            raise ValueError(f"cannot sort on {name!r}")
        ordering.append(("-" if key.startswith("-") else "") + ORM_PATHS[name])
    return [*ordering, tiebreaker(order_by)]


def _indexed_sorts() -> dict[str, str]:
    """The direction ("-" or "") each sort key has in a (model_version, key, transaction_id) index of
    the score table (detection.models: score_rank, score_spent, score_date)."""
    sorts = {}
    for index in TransactionScore._meta.indexes:
        fields = list(index.fields)
        if len(fields) == 3 and fields[0] == "model_version" and fields[2] == "transaction_id":
            sorts[fields[1].removeprefix("-")] = "-" if fields[1].startswith("-") else ""
    return sorts


INDEXED_SORTS = _indexed_sorts()
# The sorts whose orders are stored per version (write_sort_orders), each in both directions.
STORED_SORTS = tuple(name for name in TABLE_FIELDS if name not in INDEXED_SORTS)


def tiebreaker(order_by: tuple[str, ...]) -> str:
    """The transaction_id term that breaks ties: ascending, except for a single indexed key sorted
    against its index's direction, where the index read backwards gives descending ids."""
    if len(order_by) == 1:
        name = order_by[0].removeprefix("-")
        direction = "-" if order_by[0].startswith("-") else ""
        if name in INDEXED_SORTS and INDEXED_SORTS[name] != direction:
            return "-transaction_id"
    return "transaction_id"


# Sorts without an index of their own sort every matching row for each middle page (400-800 ms on
# the real file). A background task stores each single-key sort's order per version after training
# (write_sort_orders; detection.sort_orders), which every process maps: a page is a slice of it, and a
# filtered page a slice of its matching rows kept in that order. Sorts on several keys, and versions
# whose stored orders are missing or stale, read the whole order from the database once per process
# instead, as transaction ids (3.2 MB per 401,604 rows), keeping the few most recent sorts. The key
# holds the version (id and creation time) and its row count, so rows scored or deleted since give a
# new order; scores are never changed in place.
_SORTED_ORDERS: OrderedDict[tuple, np.ndarray] = OrderedDict()
_SORTED_ORDERS_KEPT = 6
_SORTED_ORDERS_LOCK = threading.Lock()


def _sorted_ids(
    version: ModelVersion,
    queryset: QuerySet,
    order_by: tuple[str, ...],
    ordering: list[str],
    *,
    filters: tuple[ColumnFilter, ...],
) -> tuple[np.ndarray, int]:
    """Every transaction id of `queryset` in `ordering`, as the database sorts them (its collation
    and NULL placement), and their count: from the version's stored order when it has every row,
    else read once per process."""
    stored = sort_orders.load_order(version.pk, order_by[0]) if len(order_by) == 1 else None
    if stored is not None and filters:
        matching = matching_ids(queryset)  # the rows and their count in one query, in no order
        restricted = _restricted_order(stored, matching)
        if restricted is not None:
            return restricted, len(matching)
        total = len(matching)
    else:
        total = queryset.count()
        if stored is not None and len(stored) == total:
            return stored, total
    key = (version.pk, version.created_at, tuple(ordering), repr(filters), total)
    return _kept_order(key, lambda: ids_in_order(queryset, ordering)), total


# A filtered page of an indexed sort from this row on is a slice of the filter's matching rows in the
# version's order, rather than a walk of the sort index that looks up each row it skips to test the
# filter: on the real file, UnitPrice > 3 sorted by anomaly_score at row 55,729 took 450 ms on
# PostgreSQL; Description contains "heart" at row 18,473 600-1,400 ms on SQLite, and InvoiceNo
# contains "5367" (1,040 rows) at row 520 about 500 ms. The first page still walks the index (it
# stops after its rows). The version's order is read once per process (3.2 MB of ids per 401,604
# rows) and kept with the other sorts' (_kept_order). The background task after training stores
# these orders too (write_sort_orders), so that a process reads the file instead: mapped, no query.
WALKED_ROWS = 100


def _in_version_order(
    version: ModelVersion, queryset: QuerySet, order_by: tuple[str, ...], ordering: list[str]
) -> tuple[np.ndarray, int] | None:
    """The transaction ids of `queryset` (a filtered read of `version`) in `ordering`, and their count,
    restricted from the version's whole order (its stored file, else read once per process); None
    for a sort on several keys or one without an index (detection.sort_orders serves those), or when
    rows scored meanwhile are still missing."""
    if len(ordering) != 2 or ordering[0].removeprefix("-") not in INDEXED_SORTS:
        return None
    matching = matching_ids(queryset)  # the rows and their count in one query, in no order
    stored = sort_orders.load_order(version.pk, order_by[0])
    if stored is not None and (restricted := _restricted_order(stored, matching)) is not None:
        return restricted, len(matching)
    key = (version.pk, version.created_at, tuple(ordering), "version")
    for _ in range(2):
        restricted = _restricted_order(_kept_order(key, lambda: ids_in_order(scores_for(version), ordering)), matching)
        if restricted is not None:
            return restricted, len(matching)
        with _SORTED_ORDERS_LOCK:  # rows scored since the order was read: read it again once
            _SORTED_ORDERS.pop(key, None)
    return None


def ids_in_order(queryset: QuerySet, ordering: list[str]) -> np.ndarray:
    """The transaction ids of `queryset` sorted by the database in `ordering`."""
    return np.fromiter(queryset.order_by(*ordering).values_list("transaction_id", flat=True), dtype=np.int64)


class _IdsText(Aggregate):
    """An integer column's values as one comma-separated text, in no order: one value to fetch
    instead of a row per id (45 ms instead of 140 ms for 393,738 ids on SQLite)."""

    function = "GROUP_CONCAT"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        template = "%(function)s(CAST(%(expressions)s AS text), ',')"
        return self.as_sql(compiler, connection, function="STRING_AGG", template=template, **extra)


def matching_ids(queryset: QuerySet) -> np.ndarray:
    """The transaction ids of `queryset`, in no order."""
    if connections[queryset.db].vendor not in ("sqlite", "postgresql"):
        return np.fromiter(queryset.order_by().values_list("transaction_id", flat=True), dtype=np.int64)
    text = queryset.order_by().aggregate(ids=_IdsText("transaction_id"))["ids"]
    return np.fromstring(text, dtype=np.int64, sep=",") if text else np.zeros(0, dtype=np.int64)


def _restricted_order(stored: np.ndarray, matching: np.ndarray) -> np.ndarray | None:
    """The `matching` ids in the order of `stored` (a sorted sequence's subset stays in its order);
    None when one of them is missing from `stored` (scored since)."""
    if matching.size == 0:
        return matching
    ordered = np.asarray(stored)
    wanted = np.zeros(int(max(ordered.max(), matching.max())) + 1, dtype=bool)
    wanted[matching] = True
    restricted = ordered[wanted[ordered]]
    return restricted if restricted.size == matching.size else None


def _kept_order(key: tuple, read: Callable[[], np.ndarray]) -> np.ndarray:
    """`read()`, kept per process under `key` among the _SORTED_ORDERS_KEPT most recent."""
    with _SORTED_ORDERS_LOCK:
        if key in _SORTED_ORDERS:
            _SORTED_ORDERS.move_to_end(key)
            return _SORTED_ORDERS[key]
    ids = read()
    with _SORTED_ORDERS_LOCK:
        _SORTED_ORDERS[key] = ids
        while len(_SORTED_ORDERS) > _SORTED_ORDERS_KEPT:
            _SORTED_ORDERS.popitem(last=False)
    return ids


def write_sort_orders(version: ModelVersion) -> list[str]:
    """Store the order of every STORED_SORTS key in both directions for `version` (detection.sort_orders),
    then of every INDEXED_SORTS key (for deep filtered pages, `_in_version_order`); return the keys
    written, none for a version without score rows (pruned).

    The background task after training (detection.tasks.write_sort_orders): one sorted read per key
    and direction, the same query a page without a stored order reads.
    """
    queryset = scores_for(version)
    if not queryset.exists():
        return []
    written = []
    for name in (*STORED_SORTS, *INDEXED_SORTS):
        for key in (name, f"-{name}"):
            sort_orders.save_order(version.pk, key, ids_in_order(queryset, orm_ordering((key,))))
            written.append(key)
    return written


def _page_keys(queryset: QuerySet, ordering: list[str], *, offset: int, limit: int, total: int) -> list[int]:
    """The transaction ids of rows offset..offset+limit in `ordering`, read from the sort's index alone
    when one serves it (detection.models): the rows skipped are never read or joined.

    A page in the second half is read in the reversed order from the other end (the same index, walked
    backwards; each database puts NULLs at opposite ends in opposite directions), so no page skips
    more than half of the rows.
    """
    if offset < total / 2:
        return list(queryset.order_by(*ordering).values_list("transaction_id", flat=True)[offset : offset + limit])
    reversed_ordering = [term.removeprefix("-") if term.startswith("-") else f"-{term}" for term in ordering]
    start, stop = max(total - offset - limit, 0), max(total - offset, 0)
    keys = list(queryset.order_by(*reversed_ordering).values_list("transaction_id", flat=True)[start:stop])
    return keys[::-1]
