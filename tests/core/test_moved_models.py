"""Moving Review, ReviewEvent and BackgroundJob to their own apps keeps their tables and rows as they are."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.migration_states import migrate, migrate_to_latest

BEFORE_THE_MOVE = [("transactions", "0002_backgroundjob"), ("detection", "0004_scoring_schedule")]
MOVED_TABLES = {"detection_review", "detection_reviewevent", "transactions_backgroundjob"}


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_migrates_forward_with_its_rows() -> None:
    old = migrate(BEFORE_THE_MOVE)
    user = old.get_model("auth", "User").objects.create(username="ana", password="x")
    batch = old.get_model("transactions", "ImportBatch").objects.create(file_name="a.csv", sha256="0" * 64)
    customer = old.get_model("transactions", "Customer").objects.create(
        customer_id=17850, country="United Kingdom", first_seen="2011-01-01T10:00Z", last_seen="2011-01-01T10:00Z"
    )
    row = old.get_model("transactions", "Transaction").objects.create(
        invoice_no="536365", stock_code="85123A", quantity=6, invoice_date="2011-01-01T10:00Z", unit_price="2.55",
        customer=customer, country="United Kingdom", batch=batch, line_number=2, fingerprint=1,
    )  # fmt: skip
    review = old.get_model("detection", "Review").objects.create(
        transaction=row, status="confirmed_fraud", analyst=user
    )
    old.get_model("detection", "ReviewEvent").objects.create(
        review=review, actor=user, at="2011-02-01T10:00Z", from_status="new", to_status="confirmed_fraud"
    )
    job = old.get_model("transactions", "BackgroundJob").objects.create(kind="ingest", status="succeeded")
    review_type, _ = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="detection", model="review"
    )
    may_review, _ = old.get_model("auth", "Permission").objects.get_or_create(
        content_type=review_type, codename="add_review", defaults={"name": "Can add review"}
    )
    old.get_model("auth", "Group").objects.create(name="Reviewers before the move").permissions.add(may_review)
    tables_before = set(connection.introspection.table_names())

    migrate_to_latest()

    from django.contrib.auth.models import Group

    from jobs.models import BackgroundJob
    from reviews.models import Review, ReviewEvent

    created = set(connection.introspection.table_names()) - tables_before
    # apps and models added after the move create only their own tables
    later = ("cases_", "webhooks_", "decisions_", "detection_dailyscorecount")
    assert {table for table in created if not table.startswith(later)} == set()  # none copied
    assert tables_before >= MOVED_TABLES
    moved = Review.objects.get(pk=review.pk)
    assert (moved.transaction_id, moved.status, moved.analyst_id) == (row.pk, "confirmed_fraud", user.pk)
    assert list(ReviewEvent.objects.values_list("review_id", "to_status")) == [(review.pk, "confirmed_fraud")]
    assert BackgroundJob.objects.get(pk=job.pk).status == "succeeded"
    granted = Group.objects.get(name="Reviewers before the move").permissions.values_list(
        "content_type__app_label", "codename"
    )
    assert list(granted) == [("reviews", "add_review")]  # the group kept its grant, now on the moved model
