"""Review status transitions, their history, and the bulk actions of the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from reviews.models import Review, ReviewEvent
from reviews.services import ReviewTransitionError, apply_review_change, change_review

pytestmark = pytest.mark.django_db
Status = Review.Status


def history(transaction_id: int) -> list[tuple[str, str, str | None]]:
    return list(
        ReviewEvent.objects.filter(review__transaction_id=transaction_id)
        .order_by("at", "id")
        .values_list("from_status", "to_status", "actor__username")
    )


def test_a_flagged_row_without_review_is_new_and_gets_one_on_first_change(flagged_ids, analyst) -> None:
    row = flagged_ids[0]
    assert not Review.objects.filter(transaction_id=row).exists()

    review = change_review(row, actor=analyst, status=Status.CONFIRMED_FRAUD, note="card reported stolen")

    assert review.status == Status.CONFIRMED_FRAUD
    assert review.note == "card reported stolen"
    assert review.closed_at is not None and review.created_at <= review.updated_at
    assert history(row) == [("new", "confirmed_fraud", "ana")]
    assert ReviewEvent.objects.get(review=review).note == "card reported stolen"


def test_every_change_is_kept_in_order_with_who_and_when(flagged_ids, analyst, admin_user) -> None:
    row = flagged_ids[0]
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
def test_disallowed_transitions_are_refused_and_change_nothing(flagged_ids, analyst, path, refused) -> None:
    row = flagged_ids[0]
    for status in path:
        change_review(row, actor=analyst, status=status)
    events_before = ReviewEvent.objects.count()

    with pytest.raises(ReviewTransitionError, match=f"from {path[-1]} to {refused}"):
        change_review(row, actor=analyst, status=refused)

    assert Review.objects.get(transaction_id=row).status == path[-1]
    assert ReviewEvent.objects.count() == events_before


def test_unknown_status_is_refused_without_creating_a_review(flagged_ids, analyst) -> None:
    with pytest.raises(ReviewTransitionError, match="unknown review status"):
        change_review(flagged_ids[0], actor=analyst, status="closed")
    assert Review.objects.count() == 0


def test_bulk_change_reports_changed_and_refused(flagged_ids, analyst) -> None:
    rows = flagged_ids[:5]
    change_review(rows[0], actor=analyst, status=Status.CONFIRMED_FRAUD)
    change_review(rows[1], actor=analyst, status=Status.FALSE_POSITIVE)

    outcome = apply_review_change(rows, actor=analyst, status=Status.FALSE_POSITIVE)

    assert sorted(outcome.changed) == sorted(rows[2:])
    assert outcome.unchanged == [rows[1]]
    assert dict(outcome.refused) == {"confirmed_fraud -> false_positive": 1}
    statuses = dict(Review.objects.filter(transaction_id__in=rows).values_list("transaction_id", "status"))
    assert statuses == {rows[0]: "confirmed_fraud", **dict.fromkeys(rows[1:], "false_positive")}
    assert ReviewEvent.objects.filter(to_status="false_positive").count() == 4


def test_assignment_is_recorded_once(flagged_ids, analyst) -> None:
    row = flagged_ids[0]
    first = apply_review_change([row], actor=analyst, analyst=analyst)
    again = apply_review_change([row], actor=analyst, analyst=analyst)

    assert first.changed == [row] and again.unchanged == [row]
    review = Review.objects.get(transaction_id=row)
    assert review.analyst == analyst and review.status == Status.NEW
    event = ReviewEvent.objects.get(review=review)
    assert (event.from_status, event.to_status, event.analyst_id) == ("new", "new", analyst.pk)


def test_score_changelist_bulk_actions_confirm_and_assign(analyst_client, analyst, flagged_ids) -> None:
    from detection.models import TransactionScore

    picked = list(TransactionScore.objects.filter(transaction_id__in=flagged_ids[:3]).values_list("pk", flat=True))
    url = "/admin/detection/transactionscore/"

    response = analyst_client.post(url, {"action": "mark_confirmed_fraud", "_selected_action": picked})
    assert response.status_code == 302
    response = analyst_client.post(url, {"action": "assign_to_me", "_selected_action": picked})
    assert response.status_code == 302

    reviews = Review.objects.filter(transaction_id__in=flagged_ids[:3])
    assert sorted(reviews.values_list("status", flat=True)) == ["confirmed_fraud"] * 3
    assert set(reviews.values_list("analyst__username", flat=True)) == {"ana"}
    assert ReviewEvent.objects.filter(actor=analyst).count() == 6


def test_review_page_refuses_a_disallowed_status(admin_client, admin_user, flagged_ids) -> None:
    review = change_review(flagged_ids[0], actor=admin_user, status=Status.CONFIRMED_FRAUD)
    url = f"/admin/reviews/review/{review.pk}/change/"
    form = {"status": "new", "analyst": "", "note": "", "events-TOTAL_FORMS": 1, "events-INITIAL_FORMS": 1}

    response = admin_client.post(url, form)

    assert response.status_code == 200
    assert "cannot go from confirmed_fraud to new" in response.content.decode()
    assert Review.objects.get(pk=review.pk).status == Status.CONFIRMED_FRAUD


def test_review_page_saves_through_the_service(admin_client, admin_user, flagged_ids) -> None:
    review = change_review(flagged_ids[0], actor=admin_user, status=Status.INVESTIGATING)
    url = f"/admin/reviews/review/{review.pk}/change/"
    form = {
        "status": "false_positive",
        "analyst": admin_user.pk,
        "note": "regular bulk buyer",
        "events-TOTAL_FORMS": 1,
        "events-INITIAL_FORMS": 1,
    }

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert history(flagged_ids[0])[-1] == ("investigating", "false_positive", "admin")
    saved = Review.objects.get(pk=review.pk)
    assert (saved.status, saved.analyst, saved.note) == ("false_positive", admin_user, "regular bulk buyer")


def test_a_review_is_added_from_the_transaction_page_link(analyst_client, analyst, flagged_ids) -> None:
    row = flagged_ids[0]
    page = analyst_client.get(f"/admin/transactions/transaction/{row}/change/").content.decode()
    assert f"/admin/reviews/review/add/?transaction={row}" in page

    response = analyst_client.post(
        "/admin/reviews/review/add/",
        {
            "transaction": row,
            "status": "investigating",
            "analyst": analyst.pk,
            "note": "",
            "events-TOTAL_FORMS": 0,
            "events-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert history(row) == [("new", "investigating", "ana")]
    assert User.objects.get(pk=analyst.pk).reviews.count() == 1
