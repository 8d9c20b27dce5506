"""The queue's score page: the explanation once, rounded figures with full precision on hover, the review form."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from detection.fields import explanation_text
from detection.models import ModelVersion, TransactionScore
from reviews.models import Review
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged_score(trained_version: ModelVersion) -> TransactionScore:
    return TransactionScore.objects.filter(model_version=trained_version, is_flagged=True).order_by("-anomaly_score")[0]


def page_url(score: TransactionScore) -> str:
    return f"/admin/detection/transactionscore/{score.pk}/change/"


def review_url(score: TransactionScore) -> str:
    return f"/admin/detection/transactionscore/{score.pk}/review/"


def test_the_page_shows_the_explanation_once_in_words_and_rounded_figures(
    flagged_score: TransactionScore, analyst_client
) -> None:
    html = analyst_client.get(page_url(flagged_score)).content.decode()

    words = explanation_text(flagged_score.explanation)
    assert words and html.count(words) == 1
    assert '"feature"' not in html and "&quot;feature&quot;" not in html  # no raw JSON
    assert f'<span title="{flagged_score.zscore!r}">{flagged_score.zscore:,.2f}</span>' in html
    assert f'title="{flagged_score.anomaly_score!r}">{flagged_score.anomaly_score:,.3f}<' in html
    assert 'id="review-form"' in html


def test_an_analyst_sets_status_assignee_and_note_on_the_page(
    flagged_score: TransactionScore, analyst, analyst_client
) -> None:
    body = {"status": "investigating", "analyst": analyst.pk, "note": "called the customer"}
    response = analyst_client.post(review_url(flagged_score), body)

    assert response.status_code == 302 and response["Location"] == page_url(flagged_score)
    review = Review.objects.get(transaction_id=flagged_score.transaction_id)
    assert (review.status, review.analyst, review.note) == ("investigating", analyst, "called the customer")
    assert review.events.get().actor == analyst


def test_a_refused_transition_changes_nothing_and_says_why(flagged_score: TransactionScore, analyst_client) -> None:
    analyst_client.post(review_url(flagged_score), {"status": "confirmed_fraud"})
    response = analyst_client.post(review_url(flagged_score), {"status": "false_positive"}, follow=True)

    assert "Review not changed" in response.content.decode()
    assert Review.objects.get(transaction_id=flagged_score.transaction_id).status == "confirmed_fraud"


def test_a_viewer_without_the_review_permissions_sees_no_form_and_cannot_post(flagged_score: TransactionScore) -> None:
    viewer = User.objects.create_user("viewer", password="viewer-pass-123", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_transactionscore"))
    client = logged_in(viewer)

    assert 'id="review-form"' not in client.get(page_url(flagged_score)).content.decode()
    assert client.post(review_url(flagged_score), {"status": "investigating"}).status_code == 403
    assert logged_in(None).post(review_url(flagged_score), {"status": "investigating"}).status_code == 302
    assert not Review.objects.exists()
