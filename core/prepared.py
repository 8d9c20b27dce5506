"""Querysets compiled to SQL once per database connection, then run again with new values.

Building and compiling a queryset costs 0.1-0.5 ms of Python per query on the API's hot paths (the
token, the active model version, a customer's anomalies), often more than SQLite takes to run it.
A PreparedQuery builds its `values_list` queryset once with marker values in place of the arguments
that change, keeps the SQL, where each marker went among the parameters and the columns' converters,
and runs that SQL with the new values: the rows the queryset would give, read through the same
cursor (so query counts and logging see them), converted by the same functions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ValuesListIterable

# Values a queryset is built with in place of its arguments, told apart from its constant parameters
# (True, 0, ...): integers inside every backend's integer range (Django turns an out-of-range lookup
# into an empty result without SQL) and a string.
INT_MARKERS = tuple(2_013_265_921 - index for index in range(4))
TEXT_MARKER = "\x00prepared-query-marker\x00"


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    # (parameter position, argument index, the parameter's type when the backend wrapped the marker,
    # as psycopg's Int4 for an integer column on PostgreSQL, else None)
    slots: tuple[tuple[int, int, type | None], ...]
    compiler: Any
    converters: dict[int, Any]
    width: int  # the columns the queryset returns (an ordering column may follow them)


class PreparedQuery:
    """`build(*markers)` (a `values_list` queryset of `model` with named fields, not flat, not named
    tuples) compiled once per connection; `rows(*values)` runs it with `values` in place of the
    markers, one value per marker, on the database the router reads `model` from."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet], *markers: Any) -> None:
        self._model = model
        self._build = build
        self._markers = markers
        self._lock = threading.Lock()
        self._compiled: WeakKeyDictionary[Any, _Compiled] = WeakKeyDictionary()

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        """The queryset's rows (tuples) for `values`, in its order."""
        if len(values) != len(self._markers):
            raise TypeError(f"expected {len(self._markers)} values, got {len(values)}")
        compiled, connection = self._compiled_for_connection()
        params = list(compiled.params)
        for position, index, wrapper in compiled.slots:
            params[position] = values[index] if wrapper is None else wrapper(values[index])
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        if compiled.converters:
            fetched = compiled.compiler.apply_converters(fetched, compiled.converters)
        return [tuple(row[: compiled.width]) for row in fetched]

    def first(self, *values: Any) -> tuple[Any, ...] | None:
        """The first row for `values`, or None."""
        found = self.rows(*values)
        return found[0] if found else None

    def _compiled_for_connection(self) -> tuple[_Compiled, Any]:
        connection = connections[router.db_for_read(self._model)]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compile(self._build(*self._markers).using(connection.alias))
            with self._lock:
                self._compiled[connection] = compiled
        return compiled, connection

    def _compile(self, queryset: QuerySet) -> _Compiled:
        if not queryset._fields or queryset._iterable_class is not ValuesListIterable:
            raise TypeError("a PreparedQuery runs a values_list queryset of named fields (not flat, not named)")
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        slots = []
        for position, param in enumerate(params):
            for index, marker in enumerate(self._markers):
                if isinstance(param, type(marker)) and param == marker:
                    slots.append((position, index, None if type(param) is type(marker) else type(param)))
        if sorted({index for _, index, _ in slots}) != list(range(len(self._markers))):
            raise ValueError(f"not every marker reached the SQL's parameters: {params!r}")
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            compiler=compiler,
            converters=compiler.get_converters(fields),
            width=len(queryset._fields),
        )


def in_integer_range(model: type[Model], field_name: str, value: int) -> bool:
    """Whether `value` fits `model.field_name`'s integer range on the database the router reads `model`
    from: the ORM answers a lookup with a value outside it with no rows and no SQL, and so must callers
    of a PreparedQuery (the database would refuse the value or compare it as is)."""
    field = model._meta.get_field(field_name)
    connection = connections[router.db_for_read(model)]
    low, high = connection.ops.integer_field_range(field.get_internal_type())
    return (low is None or value >= low) and (high is None or value <= high)
