"""The score table's server-side reads for the dashboard grid: a small filter language, sorting, paging."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from django.db.models import Q, QuerySet

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
    two for a sort without an index whose order this process has read already (`_sorted_ids`).
    """
    version = version or require_active_model_version()
    ordering = []
    for key in order_by:
        name = key.removeprefix("-")
        if name not in TABLE_FIELDS:
            raise ValueError(f"cannot sort on {name!r}")
        ordering.append(("-" if key.startswith("-") else "") + ORM_PATHS[name])
    ordering.append(tiebreaker(order_by))
    queryset = scores_for(version)
    for condition in filters:
        queryset = queryset.filter(_filter_q(condition))
    total = queryset.count()
    if order_by and order_by[0].removeprefix("-") not in INDEXED_SORTS:
        key = (version.pk, version.created_at, tuple(ordering), repr(filters), total)
        ids = _sorted_ids(queryset, ordering, key=key)
        keys = ids[offset : offset + limit].tolist()
    else:
        keys = _page_keys(queryset, ordering, offset=offset, limit=limit, total=total)
    # The page's rows by the unique (version, transaction) index, in no SQL order: with an ORDER BY,
    # SQLite walks a sort index over every row of the version instead. A row deleted in between
    # (its version pruned) is left out.
    rows = {
        row["transaction_id"]: row
        for row in row_dicts(scores_for(version).filter(transaction_id__in=keys).select_related("transaction"))
    }
    return [rows[key] for key in keys if key in rows], total


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
# the real file); the whole order is read once instead, as transaction ids (3.2 MB per 401,604
# rows), and kept per process for the few most recent sorts. The key holds the version (id and
# creation time) and its row count, so rows scored or deleted since give a new order; scores are
# never changed in place.
_SORTED_ORDERS: OrderedDict[tuple, np.ndarray] = OrderedDict()
_SORTED_ORDERS_KEPT = 6
_SORTED_ORDERS_LOCK = threading.Lock()


def _sorted_ids(queryset: QuerySet, ordering: list[str], *, key: tuple) -> np.ndarray:
    """Every transaction id of `queryset` in `ordering`, as the database sorts them (its collation
    and NULL placement), read once per `key` and process."""
    with _SORTED_ORDERS_LOCK:
        if key in _SORTED_ORDERS:
            _SORTED_ORDERS.move_to_end(key)
            return _SORTED_ORDERS[key]
    ids = np.fromiter(queryset.order_by(*ordering).values_list("transaction_id", flat=True), dtype=np.int64)
    with _SORTED_ORDERS_LOCK:
        _SORTED_ORDERS[key] = ids
        while len(_SORTED_ORDERS) > _SORTED_ORDERS_KEPT:
            _SORTED_ORDERS.popitem(last=False)
    return ids


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
