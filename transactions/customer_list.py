"""Every CustomerID, read once per worker process and again only after the customers change.

The list (4,372 ids on the real data) is read on every /customer_ids request and changes only when
customers are added or removed: by ingest and stored API rows (`refresh_customers`' upsert) or
through the ORM (the admin, fixtures: the Customer signals). Each change stores a new random stamp
in the shared default cache at once, and again when its transaction commits (a process may have
read the old rows under the first one meanwhile, when the cache is not the database); a process
reuses the ids it read only while the stamp it read them under is still the stored one. A missing
stamp (an emptied or culled cache) is replaced by a new one, so the ids are read again: a stamp is
never reused.
"""

from __future__ import annotations

import threading
import uuid

from django.core.cache import cache
from django.db import connections, transaction

from .models import Customer

STAMP_KEY = "transactions:customer-list-stamp"

_lock = threading.Lock()
# (the stamp the ids were read under, the ids, a token of that read: a new object per read)
_read: tuple[str, list[int], object] | None = None


def read_customer_ids() -> list[int]:
    """Every CustomerID, ascending, from the database: the ORM writes the query, the ids are read
    straight off the cursor (one integer column with no conversion)."""
    queryset = Customer.objects.order_by("customer_id").values_list("customer_id")
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [customer_id for (customer_id,) in cursor.fetchall()]


def current_stamp() -> str:
    """The stored stamp of the customer list; a new one when there is none."""
    stamp = cache.get(STAMP_KEY)
    if stamp is None:
        new = uuid.uuid4().hex
        # Another process's, if it added one first.
        stamp = new if cache.add(STAMP_KEY, new, timeout=None) else (cache.get(STAMP_KEY) or new)
    return stamp


def customer_ids() -> list[int]:
    """Every CustomerID of the loaded data, ascending (a new list each call)."""
    return customer_ids_read()[1]


def customer_ids_read() -> tuple[object, list[int]]:
    """`customer_ids()` and a token of the database read they came from: the same token for as long as
    this process reuses those ids, a new one with every read (so anything derived from the ids, such
    as their JSON, may be kept under the token)."""
    global _read
    stamp = current_stamp()
    with _lock:
        if _read is not None and _read[0] == stamp:
            return _read[2], list(_read[1])
    ids, token = read_customer_ids(), object()
    with _lock:
        _read = (stamp, ids, token)
    return token, list(ids)


def _new_stamp() -> None:
    cache.set(STAMP_KEY, uuid.uuid4().hex, timeout=None)


def customers_changed(**_) -> None:
    """Mark the customer list changed: now, and again when the current transaction commits."""
    _new_stamp()
    if transaction.get_connection(Customer.objects.db).in_atomic_block:
        transaction.on_commit(_new_stamp, using=Customer.objects.db)
