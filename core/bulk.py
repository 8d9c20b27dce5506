"""Fast bulk inserts of a whole DataFrame into a model's table.

`bulk_insert_frame` prepares every column at once with pandas (no model instances), then writes
with `executemany` on SQLite and `COPY` on PostgreSQL: several times faster than `bulk_create`
for hundreds of thousands of rows. Call it inside the caller's transaction.

On PostgreSQL the rows go through psycopg's `Copy.write_row`, which adapts each Python value
itself: no hand-made CSV, so text such as `\\N`, quotes, tabs or newlines arrives unchanged (the
earlier CSV path turned a literal `\\N` into NULL). With `ignore_conflicts`, rows that would break a
unique constraint are skipped: SQLite uses `ON CONFLICT DO NOTHING`, PostgreSQL copies into a
temporary table and inserts from it with `ON CONFLICT DO NOTHING`.

With `staged` (SQLite), each chunk goes into an untyped temporary table first (an append, no
index, constraint or AUTOINCREMENT counter to update per row) and from there into the table with
one `INSERT ... SELECT` in row order, which SQLite runs as one statement without holding the GIL:
about a third less CPU for the rows of the Kaggle file than one statement per row. Values are
stored as bound in the staging table, so the table's column affinities and constraints apply
exactly as to a direct insert. With `multirow` (SQLite), the rows go straight into the table, as
many per INSERT as the parameter limit allows: cheaper still when the table has no index to
update row by row (during `core.bulk_load.bulk_load`), as there is nothing to copy twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
from django.db import connection, models

ProgressCallback = Callable[[int], None]

_INTEGER_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "ForeignKey",
    "OneToOneField",
}
# Fields whose numpy column is stored as its plain Python numbers on SQLite.
_PLAIN_NUMBER_TYPES = _INTEGER_TYPES | {"DecimalField", "FloatField"}
_STAGING_TABLE = "bulk_insert_staging"
# Page cache of SQLite's temporary database while a staged insert runs (KiB): a chunk stays in memory.
STAGING_CACHE_KIB = 64 * 1024
# Rows per INSERT statement into the staging table (fewer when the parameter limit says so).
ROWS_PER_STATEMENT = 100


def _column_for_sqlite(field: models.Field, values: pd.Series) -> pd.Series:
    """Return `values` as the Python objects Django's SQLite backend would store."""
    internal = field.get_internal_type()
    if internal == "DateTimeField":
        # Django stores aware datetimes on SQLite as naive UTC text: 2010-12-01 08:26:00.
        return _utc_text(values)
    if internal == "BooleanField":
        return _nullable_objects(values.astype("Int64"))
    if internal == "JSONField":
        return _json_column(values)
    return _nullable_objects(_integers_if_needed(field, values))


def _sqlite_values(field: models.Field, values: pd.Series) -> list:
    """Return `values` as a list of the Python objects Django's SQLite backend would store.

    Numpy integer and float columns without missing values are listed as they are, in one call.
    """
    internal = field.get_internal_type()
    if isinstance(values.dtype, np.dtype) and internal in _PLAIN_NUMBER_TYPES:
        array = values.to_numpy()
        if array.dtype.kind in "iu":
            return array.tolist()
        # Floats of an integer field become integers below; NaN becomes None.
        if array.dtype.kind == "f" and internal not in _INTEGER_TYPES and not np.isnan(array).any():
            return array.tolist()
    return _column_for_sqlite(field, values).tolist()


def _utc_text(values: pd.Series) -> pd.Series:
    """Return aware datetimes as naive UTC text to the second (None for NaT), each distinct second formatted once."""
    seconds = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    codes, uniques = pd.factorize(seconds)  # NaT gets code -1
    text = np.datetime_as_string(np.asarray(uniques), unit="s")
    text = np.strings.replace(text, "T", " ").astype(object) if len(text) else text.astype(object)
    return pd.Series(np.append(text, None)[codes], index=values.index, dtype=object)


def _column_for_postgres(field: models.Field, values: pd.Series) -> pd.Series:
    """Return `values` as plain Python objects (None for missing) that psycopg adapts itself."""
    internal = field.get_internal_type()
    if internal == "JSONField":
        return _json_column(values)
    if internal == "DateTimeField":
        return _nullable_objects(values.dt.tz_convert("UTC") if values.dt.tz is not None else values)
    return _nullable_objects(_integers_if_needed(field, values))


def _integers_if_needed(field: models.Field, values: pd.Series) -> pd.Series:
    """Return float columns of integer fields (floats because of missing values) as nullable integers."""
    if field.get_internal_type() in _INTEGER_TYPES and pd.api.types.is_float_dtype(values.dtype):
        return values.astype("Int64")
    return values


def _json_column(values: pd.Series) -> pd.Series:
    """Return JSON text for each value; strings are taken as JSON already."""
    if pd.api.types.is_string_dtype(values.dtype):
        return _nullable_objects(values)
    return values.map(lambda v: json.dumps(v, separators=(",", ":")))


def _nullable_objects(values: pd.Series) -> pd.Series:
    """Return an object Series of plain Python values with NaN/NA/NaT replaced by None."""
    out = values.astype(object)
    mask = values.isna().to_numpy()
    return out.where(~mask, None) if mask.any() else out


def _fields_for(model: type[models.Model], columns: list[str]) -> list[models.Field]:
    by_column = {field.column: field for field in model._meta.concrete_fields}
    missing = [column for column in columns if column not in by_column]
    if missing:
        raise ValueError(f"{model.__name__} has no columns {missing}")
    return [by_column[column] for column in columns]


def bulk_insert_frame(
    model: type[models.Model],
    frame: pd.DataFrame,
    *,
    chunk_size: int = 50_000,
    progress: ProgressCallback | None = None,
    ignore_conflicts: bool = False,
    staged: bool = False,
    multirow: bool = False,
) -> int:
    """Insert every row of `frame` (columns named as the table's columns); return the rows inserted.

    With `ignore_conflicts`, rows whose unique key is already stored are skipped and not counted.
    With `staged`, SQLite inserts each chunk through a temporary table; with `multirow`, with many
    rows per statement (see the module's notes). The rows, their ids and their order are the same.
    """
    if staged and multirow:
        raise ValueError("staged and multirow are two ways to write the rows: choose one")
    if frame.empty:
        return 0
    columns = list(frame.columns)
    fields = _fields_for(model, columns)
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    inserted = 0
    for start in range(0, len(frame), chunk_size):
        chunk = frame.iloc[start : start + chunk_size]
        if connection.vendor == "postgresql":
            inserted += _copy_postgres(table, quoted, fields, chunk, ignore_conflicts=ignore_conflicts)
        else:
            write = _insert_staged if staged else _insert_multirow if multirow else _executemany
            inserted += write(table, quoted, fields, chunk, ignore_conflicts=ignore_conflicts)
        if progress:
            progress(len(chunk))
    return inserted


def upsert_frame(
    model: type[models.Model], frame: pd.DataFrame, *, unique_fields: list[str], update_fields: list[str]
) -> int:
    """Insert every row of `frame`; a row whose `unique_fields` are already stored updates its `update_fields`.

    One `INSERT ... ON CONFLICT (...) DO UPDATE` run with `executemany` (SQLite and PostgreSQL): the
    rows `bulk_create(update_conflicts=True)` would write, without a model instance per row.
    Returns the number of rows given.
    """
    if frame.empty:
        return 0
    columns = list(frame.columns)
    prepared = _parameter_columns(_fields_for(model, columns), frame)
    quote = connection.ops.quote_name
    updates = ", ".join(f"{quote(column)} = EXCLUDED.{quote(column)}" for column in update_fields)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(column) for column in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(quote(column) for column in unique_fields)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(zip(*prepared, strict=True)))
    return len(frame)


def _parameter_columns(fields: list[models.Field], frame: pd.DataFrame) -> list[list]:
    """Each field's column of `frame` as the plain Python values this connection's driver binds."""
    if connection.vendor == "postgresql":
        return [_column_for_postgres(field, frame[field.column]).tolist() for field in fields]
    return [_sqlite_values(field, frame[field.column]) for field in fields]


def _executemany(
    table: str, quoted: str, fields: list[models.Field], chunk: pd.DataFrame, *, ignore_conflicts: bool
) -> int:
    prepared = _parameter_columns(fields, chunk)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        # Rows as tuples of plain Python values, zipped column by column (faster than itertuples)
        # as sqlite3 reads them: no list of every row's tuple is built first.
        cursor.executemany(sql, zip(*prepared, strict=True))
        # sqlite3 sums the rows changed by every statement; a skipped conflict changes none.
        return cursor.rowcount if ignore_conflicts else len(chunk)


def _insert_staged(
    table: str, quoted: str, fields: list[models.Field], chunk: pd.DataFrame, *, ignore_conflicts: bool
) -> int:
    """Insert `chunk` on SQLite through an untyped temporary table and one INSERT ... SELECT."""
    staging = f"temp.{connection.ops.quote_name(_STAGING_TABLE)}"
    conflicts = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA temp.cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA temp.cache_size = {-STAGING_CACHE_KIB}")
        try:
            cursor.execute(f"DROP TABLE IF EXISTS {staging}")
            cursor.execute(f"CREATE TEMPORARY TABLE {staging} ({quoted})")  # no types: values kept as bound
            _append_rows(cursor, staging, quoted, _parameter_columns(fields, chunk), conflicts="")
            # `WHERE true` tells SQLite's parser that ON CONFLICT is the upsert clause, not a join's.
            cursor.execute(
                f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM {staging} WHERE true ORDER BY rowid{conflicts}"
            )
            inserted = cursor.rowcount
            cursor.execute(f"DROP TABLE {staging}")
        finally:
            connection.connection.execute(f"PRAGMA temp.cache_size = {int(previous)}")
    return inserted


def _insert_multirow(
    table: str, quoted: str, fields: list[models.Field], chunk: pd.DataFrame, *, ignore_conflicts: bool
) -> int:
    """Insert `chunk` on SQLite straight into the table, many rows per statement."""
    conflicts = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    with connection.cursor() as cursor:
        return _append_rows(cursor, table, quoted, _parameter_columns(fields, chunk), conflicts=conflicts)


def _append_rows(cursor, table: str, quoted: str, columns: list[list], *, conflicts: str) -> int:
    """Insert the rows of `columns` in order, many rows per statement (as many as the parameter limit allows).

    Returns the rows inserted. One statement per row would make the sqlite3 module release and
    take back the GIL for every row, which another busy thread then makes wait; a few thousand
    statements do not.
    """
    width, count = len(columns), len(columns[0])
    per_statement = max(1, min(ROWS_PER_STATEMENT, connection.features.max_query_params // width))
    flat: list = [None] * (width * count)  # row after row: each column fills every width-th slot
    for position, column in enumerate(columns):
        flat[position::width] = column
    row = f"({', '.join(['%s'] * width)})"
    full, rest = divmod(count, per_statement)
    step = per_statement * width
    inserted = 0
    if full:
        sql = f"INSERT INTO {table} ({quoted}) VALUES {', '.join([row] * per_statement)}{conflicts}"
        cursor.executemany(sql, (flat[start : start + step] for start in range(0, full * step, step)))
        inserted += cursor.rowcount  # summed over the statements; a skipped conflict changes no row
    if rest:
        sql = f"INSERT INTO {table} ({quoted}) VALUES {', '.join([row] * rest)}{conflicts}"
        cursor.execute(sql, flat[full * step :])
        inserted += cursor.rowcount
    return inserted


def _copy_postgres(
    table: str, quoted: str, fields: list[models.Field], chunk: pd.DataFrame, *, ignore_conflicts: bool
) -> int:
    prepared = pd.DataFrame({field.column: _column_for_postgres(field, chunk[field.column]) for field in fields})
    target = connection.ops.quote_name(_STAGING_TABLE) if ignore_conflicts else table
    # The psycopg cursor itself (Django's wrapper has no copy()), with errors raised as Django's.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor
        if ignore_conflicts:
            # Same column types, no constraints; temporary tables are private to this connection.
            raw.execute(f"DROP TABLE IF EXISTS {target}")
            raw.execute(f"CREATE TEMPORARY TABLE {target} AS SELECT {quoted} FROM {table} WITH NO DATA")
        with raw.copy(f"COPY {target} ({quoted}) FROM STDIN") as copy:
            for row in prepared.itertuples(index=False, name=None):
                copy.write_row(row)
        if not ignore_conflicts:
            return len(chunk)
        raw.execute(f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM {target} ON CONFLICT DO NOTHING")
        inserted = raw.rowcount
        raw.execute(f"DROP TABLE {target}")
        return inserted
