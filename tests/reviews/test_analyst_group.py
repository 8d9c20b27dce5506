"""The Analyst group: views data and scores, changes reviews; deletes nothing, never touches models."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from detection.models import ModelVersion
from jobs.models import BackgroundJob
from reviews.models import Review
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def test_the_analyst_group_has_exactly_view_and_review_permissions() -> None:
    permissions = set(Group.objects.get(name="Analyst").permissions.values_list("content_type__app_label", "codename"))
    assert permissions == {
        ("transactions", "view_customer"),
        ("transactions", "view_transaction"),
        ("transactions", "view_importbatch"),
        ("transactions", "view_quarantinedrow"),
        ("detection", "view_modelversion"),
        ("detection", "view_transactionscore"),
        ("reviews", "view_review"),
        ("reviews", "add_review"),
        ("reviews", "change_review"),
        ("reviews", "view_reviewevent"),
        ("cases", "view_case"),
        ("cases", "change_case"),  # work cases: assign, note, close; not reopen (cases.reopen_case)
        ("cases", "view_casetransaction"),
        ("cases", "view_caseevent"),
    }
    assert not any(codename.startswith("delete_") for _, codename in permissions)


def test_analyst_sees_transactions_scores_and_reviews(analyst_client, trained_version, flagged_ids) -> None:
    for url in [
        "/admin/transactions/transaction/",
        f"/admin/transactions/transaction/{flagged_ids[0]}/change/",
        "/admin/detection/transactionscore/",
        "/admin/reviews/review/",
        "/admin/detection/modelversion/",
    ]:
        assert analyst_client.get(url).status_code == 200, url


def test_analyst_cannot_delete_a_transaction(analyst_client, trained_version, flagged_ids) -> None:
    row = flagged_ids[0]
    url = f"/admin/transactions/transaction/{row}/delete/"

    assert analyst_client.get(url).status_code == 403
    assert analyst_client.post(url, {"post": "yes"}).status_code == 403
    response = analyst_client.post(
        "/admin/transactions/transaction/", {"action": "delete_selected", "_selected_action": [row], "post": "yes"}
    )
    assert response.status_code == 302  # refused as "no action selected"
    assert Transaction.objects.filter(pk=row).exists()
    changelist = analyst_client.get("/admin/transactions/transaction/").content.decode()
    assert 'value="delete_selected"' not in changelist
    assert 'value="mark_confirmed_fraud"' in changelist


def test_analyst_cannot_activate_a_model_or_start_training(analyst_client, trained_version, fast_training) -> None:
    older = trained_version
    newer = fast_training.train_and_activate(epochs=3, seed=0)
    assert not ModelVersion.objects.get(pk=older.pk).is_active

    response = analyst_client.post(
        "/admin/detection/modelversion/", {"action": "activate_version", "_selected_action": [older.pk]}
    )
    assert "is now the active model" not in response.content.decode()
    assert ModelVersion.objects.get(is_active=True).pk == newer.pk
    changelist = analyst_client.get("/admin/detection/modelversion/").content.decode()
    assert 'value="activate_version"' not in changelist and "Train now" not in changelist
    assert analyst_client.post(f"/admin/detection/modelversion/{older.pk}/change/", {}).status_code == 403
    assert analyst_client.post("/admin/detection/modelversion/train/", {"epochs": 3}).status_code == 403
    assert ModelVersion.objects.count() == 2 and BackgroundJob.objects.count() == 0


def test_admin_can_activate_the_previous_version(admin_client, trained_version, fast_training) -> None:
    newer = fast_training.train_and_activate(epochs=3, seed=0)

    response = admin_client.post(
        "/admin/detection/modelversion/", {"action": "activate_version", "_selected_action": [trained_version.pk]}
    )

    assert response.status_code == 302
    assert ModelVersion.objects.get(is_active=True).pk == trained_version.pk
    assert ModelVersion.objects.get(pk=newer.pk).status == ModelVersion.Status.RETIRED


def test_analyst_cannot_delete_reviews_or_upload(analyst_client, analyst, flagged_ids) -> None:
    from reviews.services import change_review

    review = change_review(flagged_ids[0], actor=analyst, status=Review.Status.INVESTIGATING)

    assert analyst_client.post(f"/admin/reviews/review/{review.pk}/delete/", {"post": "yes"}).status_code == 403
    assert analyst_client.get("/admin/transactions/importbatch/upload/").status_code == 403
    assert Review.objects.filter(pk=review.pk).exists()
