"""Review status transitions and their history (reviews.services), on rows built by factories."""

from __future__ import annotations

import pytest

from reviews.models import Review, ReviewEvent
from reviews.services import ReviewTransitionError, apply_review_change, change_review

from .conftest import history

pytestmark = pytest.mark.django_db
Status = Review.Status


def test_a_flagged_row_without_review_is_new_and_gets_one_on_first_change(flagged_rows, analyst) -> None:
    row = flagged_rows[0]
    assert not Review.objects.filter(transaction_id=row).exists()

    review = change_review(row, actor=analyst, status=Status.CONFIRMED_FRAUD, note="card reported stolen")

    assert review.status == Status.CONFIRMED_FRAUD
    assert review.note == "card reported stolen"
    assert review.closed_at is not None and review.created_at <= review.updated_at
    assert history(row) == [("new", "confirmed_fraud", "ana")]
    assert ReviewEvent.objects.get(review=review).note == "card reported stolen"


def test_every_change_is_kept_in_order_with_who_and_when(flagged_rows, analyst, admin_user) -> None:
    row = flagged_rows[0]
    change_review(row, actor=analyst, status=Status.INVESTIGATING)
    change_review(row, actor=analyst, status=Status.CONFIRMED_FRAUD)
    reopened = change_review(row, actor=admin_user, status=Status.INVESTIGATING, note="customer disputes")
    assert reopened.closed_at is None
    final = change_review(row, actor=admin_user, status=Status.FALSE_POSITIVE)

    assert final.status == Status.FALSE_POSITIVE and final.closed_at is not None
    assert history(row) == [
        ("new", "investigating", "ana"),
        ("investigating", "confirmed_fraud", "ana"),
        ("confirmed_fraud", "investigating", "admin"),
        ("investigating", "false_positive", "admin"),
    ]
    times = list(ReviewEvent.objects.filter(review=final).order_by("id").values_list("at", flat=True))
    assert times == sorted(times)


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([Status.CONFIRMED_FRAUD], Status.NEW),
        ([Status.CONFIRMED_FRAUD], Status.FALSE_POSITIVE),
        ([Status.FALSE_POSITIVE], Status.CONFIRMED_FRAUD),
        ([Status.INVESTIGATING], Status.NEW),
    ],
)
def test_disallowed_transitions_are_refused_and_change_nothing(flagged_rows, analyst, path, refused) -> None:
    row = flagged_rows[0]
    for status in path:
        change_review(row, actor=analyst, status=status)
    events_before = ReviewEvent.objects.count()

    with pytest.raises(ReviewTransitionError, match=f"from {path[-1]} to {refused}"):
        change_review(row, actor=analyst, status=refused)

    assert Review.objects.get(transaction_id=row).status == path[-1]
    assert ReviewEvent.objects.count() == events_before


def test_unknown_status_is_refused_without_creating_a_review(flagged_rows, analyst) -> None:
    with pytest.raises(ReviewTransitionError, match="unknown review status"):
        change_review(flagged_rows[0], actor=analyst, status="closed")
    assert Review.objects.count() == 0


def test_bulk_change_reports_changed_and_refused(flagged_rows, analyst) -> None:
    rows = flagged_rows[:5]
    change_review(rows[0], actor=analyst, status=Status.CONFIRMED_FRAUD)
    change_review(rows[1], actor=analyst, status=Status.FALSE_POSITIVE)

    outcome = apply_review_change(rows, actor=analyst, status=Status.FALSE_POSITIVE)

    assert sorted(outcome.changed) == sorted(rows[2:])
    assert outcome.unchanged == [rows[1]]
    assert dict(outcome.refused) == {"confirmed_fraud -> false_positive": 1}
    statuses = dict(Review.objects.filter(transaction_id__in=rows).values_list("transaction_id", "status"))
    assert statuses == {rows[0]: "confirmed_fraud", **dict.fromkeys(rows[1:], "false_positive")}
    assert ReviewEvent.objects.filter(to_status="false_positive").count() == 4


def test_assignment_is_recorded_once(flagged_rows, analyst) -> None:
    row = flagged_rows[0]
    first = apply_review_change([row], actor=analyst, analyst=analyst)
    again = apply_review_change([row], actor=analyst, analyst=analyst)

    assert first.changed == [row] and again.unchanged == [row]
    review = Review.objects.get(transaction_id=row)
    assert review.analyst == analyst and review.status == Status.NEW
    event = ReviewEvent.objects.get(review=review)
    assert (event.from_status, event.to_status, event.analyst_id) == ("new", "new", analyst.pk)
