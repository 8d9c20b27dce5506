"""Fast bulk inserts of a whole DataFrame into a model's table.

`bulk_insert_frame` prepares every column at once with pandas (no model instances), then writes
with `executemany` on SQLite and `COPY` on PostgreSQL: several times faster than `bulk_create`
for hundreds of thousands of rows. Call it inside the caller's transaction.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pandas as pd
from django.db import connection, models

ProgressCallback = Callable[[int], None]


def _column_for_sqlite(field: models.Field, values: pd.Series) -> pd.Series:
    """Return `values` as the Python objects Django's SQLite backend would store."""
    internal = field.get_internal_type()
    if internal == "DateTimeField":
        # Django stores aware datetimes on SQLite as naive UTC text.
        text = values.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S")
        return text.astype(object).where(values.notna(), None)
    if internal == "BooleanField":
        return _nullable_objects(values.astype("Int64"))
    if internal == "JSONField":
        return _json_column(values)
    return _nullable_objects(values)


def _column_for_postgres(field: models.Field, values: pd.Series) -> pd.Series:
    """Return `values` formatted for PostgreSQL's COPY in CSV format."""
    internal = field.get_internal_type()
    if internal == "DateTimeField":
        return values.dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S+00:00").where(values.notna(), None)
    if internal == "BooleanField":
        return values.map({True: "t", False: "f"}).where(values.notna(), None)
    if internal == "JSONField":
        return _json_column(values)
    return values


def _json_column(values: pd.Series) -> pd.Series:
    """Return JSON text for each value; strings are taken as JSON already."""
    if pd.api.types.is_string_dtype(values.dtype):
        return values.astype(object)
    return values.map(lambda v: json.dumps(v, separators=(",", ":")))


def _nullable_objects(values: pd.Series) -> pd.Series:
    """Return an object Series of plain Python values with NaN/NA replaced by None."""
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
) -> int:
    """Insert every row of `frame` (columns named as the table's columns) and return the count."""
    if frame.empty:
        return 0
    columns = list(frame.columns)
    fields = _fields_for(model, columns)
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    for start in range(0, len(frame), chunk_size):
        chunk = frame.iloc[start : start + chunk_size]
        if connection.vendor == "postgresql":
            _copy_postgres(table, quoted, fields, chunk)
        else:
            _executemany(table, quoted, fields, chunk)
        if progress:
            progress(len(chunk))
    return len(frame)


def _executemany(table: str, quoted: str, fields: list[models.Field], chunk: pd.DataFrame) -> None:
    prepared = pd.DataFrame({field.column: _column_for_sqlite(field, chunk[field.column]) for field in fields})
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(prepared.itertuples(index=False, name=None)))


def _copy_postgres(table: str, quoted: str, fields: list[models.Field], chunk: pd.DataFrame) -> None:
    prepared = pd.DataFrame({field.column: _column_for_postgres(field, chunk[field.column]) for field in fields})
    buffer = io.StringIO()
    prepared.to_csv(buffer, index=False, header=False, na_rep="\\N")
    sql = f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(buffer.getvalue())
