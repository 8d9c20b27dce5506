"""The database cache's one-statement `set` stores what Django's stores, culls alike, and is shared."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.cache import DatabaseCache

pytestmark = pytest.mark.django_db(transaction=True)


def stored_rows() -> dict[str, tuple[str, object]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key, value, expires FROM django_cache")
        return {key: (value, expires) for key, value, expires in cursor.fetchall()}


def django_cache() -> DjangoDatabaseCache:
    return DjangoDatabaseCache("django_cache", {})


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_default_cache_is_the_one_statement_database_cache() -> None:
    assert type(caches["default"]) is DatabaseCache


@pytest.mark.parametrize("timeout", [30, None, 0])
def test_set_stores_the_rows_djangos_set_stores(timeout) -> None:
    for value in ({1: 2}, "text", [0.5] * 100):
        django_cache().set("theirs", value, timeout)
        cache.set("ours", value, timeout)
        theirs, ours = stored_rows().get(":1:theirs"), stored_rows().get(":1:ours")
        assert ours == theirs
        assert cache.get("ours", "gone") == django_cache().get("theirs", "gone")


def test_set_overwrites_in_two_statements_and_add_and_touch_are_unchanged() -> None:
    cache.set("key", 1, 30)
    with CaptureQueriesContext(connection) as captured:
        cache.set("key", 2, 30)
    assert [query["sql"].split()[0] for query in captured] == ["SELECT", "INSERT"]
    assert cache.get("key") == 2
    assert not cache.add("key", 3)
    assert cache.touch("key", 60)
    assert cache.get("key") == 2


def test_a_set_inside_a_transaction_is_rolled_back_with_it() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        cache.set("key", 1, 30)
        assert cache.get("key") == 1
        raise RuntimeError
    assert cache.get("key") is None


def test_a_full_table_is_culled_as_djangos_culls_it() -> None:
    small = DatabaseCache("django_cache", {"OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2}})
    for index in range(30):
        small.set(f"key{index}", index, 30)
    assert len(stored_rows()) <= 11


def test_a_value_set_by_one_cache_object_is_read_by_another() -> None:
    DatabaseCache("django_cache", {}).set("shared", "value", 30)  # another process's cache, same table
    assert cache.get("shared") == "value"
    assert django_cache().get("shared") == "value"
