"""The review actions and pages of the admin: bulk actions, the review form, the link from the transaction page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from reviews.models import Review, ReviewEvent
from reviews.services import change_review

from .conftest import history

pytestmark = pytest.mark.django_db
Status = Review.Status


def test_score_changelist_bulk_actions_confirm_and_assign(analyst_client, analyst, flagged_rows) -> None:
    from detection.models import TransactionScore

    picked = list(TransactionScore.objects.filter(transaction_id__in=flagged_rows[:3]).values_list("pk", flat=True))
    url = "/admin/detection/transactionscore/"

    response = analyst_client.post(url, {"action": "mark_confirmed_fraud", "_selected_action": picked})
    assert response.status_code == 302
    response = analyst_client.post(url, {"action": "assign_to_me", "_selected_action": picked})
    assert response.status_code == 302

    reviews = Review.objects.filter(transaction_id__in=flagged_rows[:3])
    assert sorted(reviews.values_list("status", flat=True)) == ["confirmed_fraud"] * 3
    assert set(reviews.values_list("analyst__username", flat=True)) == {"ana"}
    assert ReviewEvent.objects.filter(actor=analyst).count() == 6


def test_review_page_refuses_a_disallowed_status(admin_client, admin_user, flagged_rows) -> None:
    review = change_review(flagged_rows[0], actor=admin_user, status=Status.CONFIRMED_FRAUD)
    url = f"/admin/reviews/review/{review.pk}/change/"
    form = {"status": "new", "analyst": "", "note": "", "events-TOTAL_FORMS": 1, "events-INITIAL_FORMS": 1}

    response = admin_client.post(url, form)

    assert response.status_code == 200
    assert "cannot go from confirmed_fraud to new" in response.content.decode()
    assert Review.objects.get(pk=review.pk).status == Status.CONFIRMED_FRAUD


def test_review_page_saves_through_the_service(admin_client, admin_user, flagged_rows) -> None:
    review = change_review(flagged_rows[0], actor=admin_user, status=Status.INVESTIGATING)
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
    assert history(flagged_rows[0])[-1] == ("investigating", "false_positive", "admin")
    saved = Review.objects.get(pk=review.pk)
    assert (saved.status, saved.analyst, saved.note) == ("false_positive", admin_user, "regular bulk buyer")


def test_a_review_is_added_from_the_transaction_page_link(analyst_client, analyst, flagged_rows) -> None:
    row = flagged_rows[0]
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
