"""The database cache with `set` written as one statement.

Django's DatabaseCache.set counts the table's rows (culling it when full), then in a transaction
reads the key's row and updates or inserts it: five statements (count, BEGIN, SELECT, UPDATE or
INSERT, COMMIT) and the transaction's bookkeeping, on every API request (the throttle's counter).
Here, on SQLite and PostgreSQL, the row is written with one `INSERT ... ON CONFLICT DO UPDATE`
after the same count and cull: the same row afterwards, in two statements. Inside a transaction
the write still runs in a savepoint, so a failed write leaves the caller's transaction usable;
a failed write is ignored, as Django's is. `add`, `touch`, reads and deletes are Django's.
"""

from __future__ import annotations

import base64
import pickle
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import DatabaseError, connections, router, transaction
from django.utils.timezone import now as tz_now

UPSERT_VENDORS = {"sqlite", "postgresql"}


class DatabaseCache(DjangoDatabaseCache):
    """django.core.cache.backends.db.DatabaseCache whose `set` is one upsert (see the module)."""

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        database = router.db_for_write(self.cache_model_class)
        connection = connections[database]
        if connection.vendor not in UPSERT_VENDORS:
            return super().set(key, value, timeout, version)
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        quote_name = connection.ops.quote_name
        table = quote_name(self._table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            count = cursor.fetchone()[0]
            now = tz_now().replace(microsecond=0)
            if timeout is None:
                expires = datetime.max
            else:
                expires = datetime.fromtimestamp(timeout, tz=UTC if settings.USE_TZ else None)
            if count > self._max_entries:
                self._cull(database, cursor, now, count)
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            key_column, value_column, expires_column = map(quote_name, ("cache_key", "value", "expires"))
            statement = (
                f"INSERT INTO {table} ({key_column}, {value_column}, {expires_column}) VALUES (%s, %s, %s) "
                f"ON CONFLICT ({key_column}) DO UPDATE SET {value_column} = EXCLUDED.{value_column}, "
                f"{expires_column} = EXCLUDED.{expires_column}"
            )
            params = [key, encoded, connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))]
            try:
                if connection.in_atomic_block:
                    with transaction.atomic(using=database):
                        cursor.execute(statement, params)
                else:
                    cursor.execute(statement, params)
            except DatabaseError:
                pass  # as Django's set: a failed cache write is not the caller's error
        return None
