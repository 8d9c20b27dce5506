"""Working cases: closing applies the verdict as reviews, reopening needs its permission, history is kept."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from cases.errors import CasePermissionDenied, CaseTransitionError
from cases.models import Case
from cases.services import change_case, close_case, group_alerts_into_cases
from reviews.models import Review, ReviewEvent
from reviews.services import apply_review_change
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(version, make_alert) -> Case:
    """One open case of customer 101 with three alerts."""
    for day in (0, 1, 2):
        make_alert(101, day)
    group_alerts_into_cases(version)
    return Case.objects.get()


def transaction_ids(case: Case) -> list[int]:
    return sorted(case.links.values_list("transaction_id", flat=True))


def test_closing_as_fraud_confirms_every_transaction_as_a_review(case, analyst):
    ids = transaction_ids(case)
    apply_review_change(ids[:1], actor=analyst, status=Review.Status.FALSE_POSITIVE)  # judged the other way before

    closed = close_case(case.pk, actor=analyst, verdict=Case.Status.CLOSED_FRAUD, note="card testing")

    assert closed.status == Case.Status.CLOSED_FRAUD and closed.closed_at is not None
    assert closed.notes == "card testing"
    statuses = dict(Review.objects.filter(transaction_id__in=ids).values_list("transaction_id", "status"))
    assert statuses == dict.fromkeys(ids, Review.Status.CONFIRMED_FRAUD)
    flipped = ReviewEvent.objects.filter(review__transaction_id=ids[0]).values_list("from_status", "to_status")
    assert list(flipped) == [
        ("new", "false_positive"),
        ("false_positive", "investigating"),
        ("investigating", "confirmed_fraud"),
    ]
    event = closed.events.last()
    assert (event.actor, event.from_status, event.to_status) == (analyst, "open", "closed_fraud")
    assert "3 reviews set to confirmed_fraud" in event.note
    announced = Event.objects.get(type="case.closed")
    assert announced.data["id"] == case.pk and announced.data["status"] == "closed_fraud"


def test_closing_as_legitimate_marks_false_positives(case, analyst):
    close_case(case.pk, actor=analyst, verdict=Case.Status.CLOSED_LEGITIMATE)

    assert set(Review.objects.values_list("status", flat=True)) == {Review.Status.FALSE_POSITIVE}


def test_a_closed_case_cannot_be_closed_again(case, analyst):
    close_case(case.pk, actor=analyst, verdict=Case.Status.CLOSED_FRAUD)

    with pytest.raises(CaseTransitionError):
        close_case(case.pk, actor=analyst, verdict=Case.Status.CLOSED_LEGITIMATE)
    assert Event.objects.filter(type="case.closed").count() == 1


def test_reopening_needs_the_reopen_permission_that_analysts_lack(case, analyst):
    close_case(case.pk, actor=analyst, verdict=Case.Status.CLOSED_FRAUD)

    with pytest.raises(CasePermissionDenied):
        change_case(case.pk, actor=analyst, status=Case.Status.INVESTIGATING)
    assert Case.objects.get().status == Case.Status.CLOSED_FRAUD

    senior = User.objects.create_user("senior", is_staff=True)
    senior.user_permissions.add(Permission.objects.get(codename="reopen_case"))
    reopened = change_case(case.pk, actor=senior, status=Case.Status.INVESTIGATING)

    assert reopened.status == Case.Status.INVESTIGATING and reopened.closed_at is None
    assert set(Review.objects.values_list("status", flat=True)) == {Review.Status.CONFIRMED_FRAUD}  # labels kept


def test_analysts_may_work_cases_but_not_reopen_them(analyst):
    assert analyst.has_perms(["cases.view_case", "cases.change_case", "cases.view_caseevent"])
    assert not analyst.has_perm("cases.reopen_case") and not analyst.has_perm("cases.delete_case")


def test_every_change_is_kept_in_the_history(case, analyst, admin_user):
    change_case(case.pk, actor=analyst, status=Case.Status.INVESTIGATING, assignee=analyst)
    change_case(case.pk, actor=analyst, notes="called the customer")
    change_case(case.pk, actor=analyst, notes="called the customer")  # no change: no event
    change_case(case.pk, actor=admin_user, assignee=None)

    history = list(case.events.values_list("actor__username", "from_status", "to_status", "assignee__username", "note"))
    assert history == [
        (None, "", "open", None, "opened with 3 alerts"),
        ("ana", "open", "investigating", "ana", "assigned"),
        ("ana", "investigating", "investigating", "ana", "notes changed"),
        ("admin", "investigating", "investigating", None, "unassigned"),
    ]


def test_an_unknown_or_skipped_status_is_refused(case, analyst):
    with pytest.raises(CaseTransitionError):
        change_case(case.pk, actor=analyst, status="archived")
