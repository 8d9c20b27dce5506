"""The customer list is read once per process and read again after every change of the customers."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.conftest import write_csv
from tests.factories import CustomerFactory
from transactions.customer_list import STAMP_KEY
from transactions.models import Customer
from transactions.selectors import customer_ids
from transactions.services import ingest_file

pytestmark = pytest.mark.django_db


def customer_table_reads(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return sum("transactions_customer" in query["sql"] for query in captured.captured_queries)


def test_a_second_read_reuses_the_ids_without_reading_the_table() -> None:
    CustomerFactory(customer_id=12001)
    assert customer_ids() == [12001]

    assert customer_table_reads(customer_ids) == 0
    assert customer_ids() == [12001]


def test_customers_saved_or_deleted_through_the_orm_show_at_once() -> None:
    first = CustomerFactory(customer_id=12001)
    assert customer_ids() == [12001]

    CustomerFactory(customer_id=12002)
    assert customer_ids() == [12001, 12002]
    first.delete()
    assert customer_ids() == [12002]


def test_customers_of_an_ingested_file_show_at_once(tmp_path: Path, demo_frames) -> None:
    before = customer_ids()

    ingest_file(write_csv(tmp_path / "first.csv", demo_frames[0]))

    loaded = sorted(Customer.objects.values_list("customer_id", flat=True))
    assert before == [] and loaded
    assert customer_ids() == loaded


def test_a_change_committed_by_another_process_shows_once_the_stamp_changes() -> None:
    CustomerFactory(customer_id=12001)
    assert customer_ids() == [12001]
    with connection.cursor() as cursor:  # a row another process wrote: no signal here
        cursor.execute(
            "INSERT INTO transactions_customer (customer_id, country, first_seen, last_seen, invoice_count, "
            "line_count) SELECT 12003, country, first_seen, last_seen, 0, 0 FROM transactions_customer"
        )

    assert customer_ids() == [12001]  # this process still has the stamp it read the ids under
    cache.set(STAMP_KEY, "written-by-the-other-process")
    assert customer_ids() == [12001, 12003]
    cache.delete(STAMP_KEY)  # an emptied cache: a new stamp, the ids read again
    assert customer_table_reads(customer_ids) == 1


def test_a_change_inside_a_transaction_stamps_again_when_it_commits(django_capture_on_commit_callbacks) -> None:
    assert customer_ids() == []
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        CustomerFactory(customer_id=12004)
        in_transaction = cache.get(STAMP_KEY)
    assert customer_ids() == [12004]  # the same connection sees its own change at once

    for callback in callbacks:
        callback()

    assert cache.get(STAMP_KEY) != in_transaction
    assert customer_table_reads(customer_ids) == 1


def test_callers_get_their_own_list() -> None:
    CustomerFactory(customer_id=12001)
    customer_ids().append(99999)

    assert customer_ids() == [12001]
