"""Set a table up for a large load inside the caller's transaction, then put it back (SQLite only).

Inserting hundreds of thousands of rows into a table keeps each of its indexes up to date row by
row, which on SQLite costs more than the rows themselves (a unique index on a hash, whose keys come
in random order, most of all). `bulk_load` drops the table's indexes made by CREATE INDEX, plain or
unique, for the load and creates them again from their own SQL once the rows are in, which sorts
each index once, and gives the connection a larger page cache for the load. Creating a unique index
again checks every row: a duplicate fails the load, which is then rolled back whole. The DDL is
part of the caller's transaction: readers never see the table without its indexes, and a failed
or killed load rolls the indexes back with the rows. Indexes SQLite makes for a column's UNIQUE or
PRIMARY KEY clause cannot be dropped and stay. On other databases (PostgreSQL loads with COPY) it
does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, models, transaction

# Page caches in KiB (negative cache_size is KiB in SQLite); the connection's own value is put back
# afterwards. SQLite's default is 2 MiB: a bulk write under a dozen indexes then rereads index pages
# from the OS for every row. 64 MiB holds the unique fingerprint index of the Kaggle file (kept when
# a load is smaller than the table); 256 MiB the score table's indexes (a ceiling, used only as pages
# are read).
LOAD_CACHE_KIB = 64 * 1024
BULK_CACHE_KIB = 256 * 1024


@contextmanager
def large_sqlite_cache(kib: int = BULK_CACHE_KIB) -> Iterator[None]:
    """Give the SQLite connection a page cache of `kib` for the block; no effect on other databases.

    Set and put back on the DB-API connection itself, which also works once a failure has marked
    the caller's transaction for rollback (Django's cursor would refuse and hide the failure).
    """
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    (previous,) = raw.execute("PRAGMA cache_size").fetchone()
    raw.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(previous)}")


@contextmanager
def bulk_load(model: type[models.Model], *, rows_to_add: int, rows_stored: int | None = None) -> Iterator[bool]:
    """Prepare `model`'s table for `rows_to_add` new rows next to `rows_stored` existing ones
    (counted from the table when not given, on SQLite only: elsewhere nothing is done).

    Yields whether the indexes were dropped for the load. Indexes are only rebuilt when the load is
    at least as big as the table (rebuilding a big table's indexes for a few rows would cost more
    than it saves). Must run inside an atomic block; if the body raises, that transaction is
    marked for rollback.
    """
    if connection.vendor != "sqlite":
        yield False
        return
    if not connection.in_atomic_block:
        raise RuntimeError("bulk_load must run inside transaction.atomic()")
    if rows_stored is None:
        rows_stored = model._default_manager.count()
    with large_sqlite_cache(LOAD_CACHE_KIB):
        with connection.cursor() as cursor:
            dropped = _drop_indexes(cursor, model._meta.db_table) if rows_to_add >= rows_stored else []
        try:
            yield bool(dropped)
        except BaseException:
            transaction.set_rollback(True)  # the dropped indexes come back with the rollback
            raise
        with connection.cursor() as cursor:
            for sql in dropped:
                cursor.execute(sql)


def _drop_indexes(cursor, table: str) -> list[str]:
    """Drop the table's indexes made by CREATE INDEX (plain and unique); return the SQL that creates them again.

    Unique ones come first in the SQL returned: a duplicate fails the load before the others are built.
    """
    cursor.execute(
        "SELECT il.name, m.sql FROM pragma_index_list(%s) AS il JOIN sqlite_master AS m "
        "ON m.type = 'index' AND m.name = il.name WHERE il.origin = 'c' AND m.sql IS NOT NULL "
        'ORDER BY il."unique" DESC, il.name',
        [table],
    )
    indexes = cursor.fetchall()
    for name, _sql in indexes:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return [sql for _name, sql in indexes]


# Rows SQLite's ANALYZE reads per index (PRAGMA analysis_limit): approximate statistics in
# milliseconds instead of a pass over every row, enough for the planner's choice between indexes.
ANALYSIS_LIMIT = 1000


def refresh_statistics(*models_: type[models.Model], exact: bool = False) -> None:
    """Refresh the query planner's statistics of the tables of `models_` after a bulk write.

    Without them SQLite guesses: a customer's ranked anomalies walked the whole version through the
    `total_spent` sort index instead of the customer index (about 500 ms instead of 2 ms per
    request). PostgreSQL's autovacuum analyzes in time too, but only later; ANALYZE samples.

    With `exact`, SQLite reads every index entry (no analysis_limit). Its approximate figures give a
    column of few values, such as the score table's model version, about ANALYSIS_LIMIT rows per
    value: the planner then reads a whole version through an index, row by row, for a filter no
    index serves (Description contains "heart": 1.4-1.7 s a page instead of 0.2-0.3 s).
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit = {0 if exact else ANALYSIS_LIMIT}")
        if connection.vendor in ("sqlite", "postgresql"):
            for model in models_:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
