"""Candidate versions: trained and scored without activation, kept by pruning, activated later by
the users who may train."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command

from detection.errors import NotACandidate
from detection.models import ModelVersion, TransactionScore
from detection.services import activate_candidate, keep_as_candidate, prune_old_versions
from detection.training_jobs import TRAIN_PERMISSIONS
from jobs.models import BackgroundJob
from tests.conftest import logged_in
from tests.factories import ModelVersionFactory, TransactionScoreFactory
from transactions.models import Transaction

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/detection/modelversion/"


def scored_version(status: str, *, activated_minutes: int | None, rows: int = 2) -> ModelVersion:
    """A version in `status` with `rows` score rows; activated `activated_minutes` after START (None: never)."""
    from datetime import timedelta

    from tests.factories import START

    version = ModelVersionFactory(
        status=status,
        is_active=status == ModelVersion.Status.ACTIVE,
        activated_at=None if activated_minutes is None else START + timedelta(minutes=activated_minutes),
    )
    TransactionScoreFactory.create_batch(rows, model_version=version)
    return version


def test_train_models_no_activate_keeps_the_active_version_and_scores_a_candidate(trained_version, capsys) -> None:
    call_command("train_models", "--no-activate", "--epochs", "3", "--seed", "0")

    candidate = ModelVersion.objects.exclude(pk=trained_version.pk).get()
    trained_version.refresh_from_db()
    assert (candidate.status, candidate.is_active, candidate.activated_at) == ("candidate", False, None)
    assert trained_version.is_active and trained_version.status == ModelVersion.Status.ACTIVE
    scoreable = Transaction.objects.filter(customer__isnull=False).count()
    assert TransactionScore.objects.filter(model_version=candidate).count() == scoreable
    assert TransactionScore.objects.filter(model_version=trained_version).count() == scoreable
    assert candidate.parameters["candidate"] is True
    assert f"v{candidate.pk} (candidate)" in capsys.readouterr().out


def test_training_without_the_option_still_activates(trained_version) -> None:
    assert trained_version.status == ModelVersion.Status.ACTIVE and trained_version.is_active
    assert trained_version.parameters.get("candidate", False) is False


def test_pruning_keeps_the_candidate_and_drops_older_retired_versions() -> None:
    oldest = scored_version(ModelVersion.Status.RETIRED, activated_minutes=0)
    previous = scored_version(ModelVersion.Status.RETIRED, activated_minutes=10)
    active = scored_version(ModelVersion.Status.ACTIVE, activated_minutes=20)
    candidate = scored_version(ModelVersion.Status.CANDIDATE, activated_minutes=None, rows=3)

    prune_old_versions()

    counts = {v.pk: TransactionScore.objects.filter(model_version=v).count() for v in (oldest, previous, active)}
    assert counts == {oldest.pk: 0, previous.pk: 2, active.pk: 2}
    assert TransactionScore.objects.filter(model_version=candidate).count() == 3


def test_a_new_candidate_retires_the_older_one_which_pruning_then_clears() -> None:
    scored_version(ModelVersion.Status.ACTIVE, activated_minutes=0)
    older = scored_version(ModelVersion.Status.CANDIDATE, activated_minutes=None)
    newer = scored_version(ModelVersion.Status.TRAINING, activated_minutes=None)

    keep_as_candidate(newer)
    prune_old_versions()

    older.refresh_from_db()
    assert older.status == ModelVersion.Status.RETIRED
    assert not TransactionScore.objects.filter(model_version=older).exists()
    assert ModelVersion.objects.get(pk=newer.pk).status == ModelVersion.Status.CANDIDATE
    assert TransactionScore.objects.filter(model_version=newer).count() == 2


def test_activating_a_candidate_retires_the_active_version() -> None:
    active = scored_version(ModelVersion.Status.ACTIVE, activated_minutes=0)
    candidate = scored_version(ModelVersion.Status.CANDIDATE, activated_minutes=None)

    activate_candidate(candidate)

    active.refresh_from_db()
    assert (candidate.status, candidate.is_active) == ("active", True)
    assert (active.status, active.is_active) == ("retired", False)
    assert TransactionScore.objects.filter(model_version=active).count() == 2  # the previous one is kept


@pytest.mark.parametrize("status", ["active", "retired", "failed", "training"])
def test_only_a_candidate_can_be_activated_as_one(status) -> None:
    version = scored_version(status, activated_minutes=0 if status in ("active", "retired") else None)
    with pytest.raises(NotACandidate):
        activate_candidate(version)
    version.refresh_from_db()
    assert version.status == status


def _staff(name: str, *perms: str) -> User:
    user = User.objects.create_user(name, is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def _activate_through_the_admin(user: User | None, version: ModelVersion):
    return logged_in(user).post(
        CHANGELIST, {"action": "activate_candidate", "_selected_action": [version.pk]}, follow=False
    )


@pytest.mark.parametrize(
    ("role", "activated"),
    [("anonymous", False), ("plain", False), ("analyst", False), ("trainer", True), ("superuser", True)],
)
def test_activating_a_candidate_in_the_admin_needs_the_training_permissions(role, activated, analyst) -> None:
    active = scored_version(ModelVersion.Status.ACTIVE, activated_minutes=0)
    candidate = scored_version(ModelVersion.Status.CANDIDATE, activated_minutes=None)
    users = {
        "anonymous": None,
        "plain": User.objects.create_user("plain"),
        "analyst": analyst,
        "trainer": _staff("trainer", "detection.view_modelversion", *TRAIN_PERMISSIONS),
        "superuser": User.objects.create_superuser("root", "root@example.com", "x"),
    }

    response = _activate_through_the_admin(users[role], candidate)

    candidate.refresh_from_db()
    active.refresh_from_db()
    assert candidate.is_active is activated and active.is_active is not activated
    if role in ("anonymous", "plain"):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    if role == "analyst":  # may list versions, but the action is not offered
        page = logged_in(analyst).get(CHANGELIST).content.decode()
        assert "activate_candidate" not in page and "Activate the selected version" not in page
    if role in ("trainer", "superuser"):
        assert "activate_candidate" in logged_in(users[role]).get(CHANGELIST).content.decode()


def test_the_training_job_keeps_a_candidate_when_asked(admin_client, sync_jobs, trained_version, fast_training):
    response = admin_client.post(
        "/api/jobs/train", {"epochs": 3, "seed": 0, "candidate": True}, content_type="application/json"
    )

    assert response.status_code == 202
    job = BackgroundJob.objects.get(pk=response.json()["id"])
    version = ModelVersion.objects.get(pk=job.parameters["model_version_id"])
    trained_version.refresh_from_db()
    assert (job.status, version.status, version.is_active) == ("succeeded", "candidate", False)
    assert trained_version.is_active
    assert job.result["summary"].startswith(f"v{version.pk} candidate")


def test_train_now_form_passes_the_candidate_choice(admin_client, sync_jobs, trained_version, fast_training) -> None:
    admin_client.post(
        "/admin/detection/modelversion/train/", {"contamination": 0.02, "epochs": 3, "seed": 0, "candidate": "on"}
    )
    assert ModelVersion.objects.filter(status=ModelVersion.Status.CANDIDATE).count() == 1
    trained_version.refresh_from_db()
    assert trained_version.is_active


def test_a_non_boolean_candidate_is_refused(admin_client, sync_jobs) -> None:
    response = admin_client.post("/api/jobs/train", {"candidate": "yes"}, content_type="application/json")
    assert response.status_code == 400
    assert "candidate" in str(response.json())


def test_a_dead_worker_after_its_candidate_was_stored_counts_as_success() -> None:
    from detection.training_jobs import reconcile_dead_training

    candidate = scored_version(ModelVersion.Status.CANDIDATE, activated_minutes=None)
    job = BackgroundJob.objects.create(kind="train", status="running", parameters={"model_version_id": candidate.pk})

    outcome = reconcile_dead_training(job, "worker gone")

    candidate.refresh_from_db()
    assert outcome.succeeded and "kept as the candidate" in outcome.message
    assert candidate.status == ModelVersion.Status.CANDIDATE
    assert TransactionScore.objects.filter(model_version=candidate).count() == 2
