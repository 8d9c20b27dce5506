"""Runs whose worker died are settled from the database: at once on this host, by heartbeat elsewhere."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from detection.models import ModelVersion
from detection.services import claim_training
from jobs.liveness import worker_identity, worker_is_dead
from jobs.models import BackgroundJob
from jobs.recovery import recover_dead_jobs
from tests.factories import ModelVersionFactory
from transactions.models import ImportBatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_worker() -> str:
    """The identity of a process of this host that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = worker_identity(child.pid)
    child.wait()
    return identity


def running_job(kind: str, worker: str, **fields) -> BackgroundJob:
    now = timezone.now()
    return BackgroundJob.objects.create(
        kind=kind, status="running", worker=worker, started_at=now, heartbeat_at=now, **fields
    )


def test_a_live_process_is_alive_and_an_exited_one_is_dead(dead_worker) -> None:
    assert not worker_is_dead(worker_identity())
    assert worker_is_dead(dead_worker)
    assert not worker_is_dead("another-host:1:1")  # only its heartbeat can tell


def test_a_training_whose_worker_died_fails_at_once_and_frees_the_lock(dead_worker) -> None:
    active = ModelVersionFactory()
    claimed = ModelVersion.objects.create(status="training", heartbeat_at=timezone.now())
    job = running_job("train", dead_worker, parameters={"model_version_id": claimed.pk})

    assert recover_dead_jobs() == [job.pk]

    job.refresh_from_db()
    claimed.refresh_from_db()
    assert (job.status, claimed.status) == ("failed", "failed")
    assert "interrupted" in job.error and "interrupted" in claimed.error
    assert claim_training().status == "training"  # a new run is accepted at once
    assert ModelVersion.objects.get(is_active=True) == active  # the old version still serves


def test_a_training_killed_after_activating_its_version_succeeded(dead_worker) -> None:
    version = ModelVersionFactory(metrics={"rows": 10, "flagged_either": 2})
    job = running_job("train", dead_worker, parameters={"model_version_id": version.pk})

    recover_dead_jobs()

    job.refresh_from_db()
    assert job.status == "succeeded" and job.result["model_version_id"] == version.pk and job.error == ""


def test_a_silent_run_on_another_host_is_settled_by_its_heartbeat(settings) -> None:
    settings.STALE_AFTER_SECONDS = 60
    now = timezone.now()
    silent = running_job("ingest", "elsewhere:42:1")
    BackgroundJob.objects.filter(pk=silent.pk).update(heartbeat_at=now - timedelta(seconds=61))
    beating = running_job("ingest", "elsewhere:43:1")
    batch = ImportBatch.objects.create(file_name="x.csv", sha256="0" * 64, status="running")

    assert recover_dead_jobs() == [silent.pk]
    assert BackgroundJob.objects.get(pk=beating.pk).status == "running"
    batch.refresh_from_db()
    assert batch.status == "failed" and "interrupted" in batch.error


def test_a_queued_training_keeps_its_claim_while_it_waits(settings) -> None:
    settings.STALE_AFTER_SECONDS = 60
    version = claim_training()
    ModelVersion.objects.filter(pk=version.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    BackgroundJob.objects.create(kind="train", status="queued", parameters={"model_version_id": version.pk})

    from detection.errors import TrainingInProgress

    with pytest.raises(TrainingInProgress):
        claim_training()


def test_staff_mark_a_stuck_run_failed_in_the_admin(admin_client, dead_worker) -> None:
    job = running_job("ingest", worker_identity())  # alive: only a person can call it stuck

    response = admin_client.post("/admin/jobs/backgroundjob/", {"action": "mark_failed", "_selected_action": [job.pk]})

    job.refresh_from_db()
    assert response.status_code == 302
    assert job.status == "failed" and "marked failed by admin in the admin" in job.error


def test_analysts_cannot_mark_runs_failed(analyst_client) -> None:
    job = running_job("ingest", worker_identity())

    analyst_client.post("/admin/jobs/backgroundjob/", {"action": "mark_failed", "_selected_action": [job.pk]})

    assert BackgroundJob.objects.get(pk=job.pk).status == "running"


def test_a_broker_that_refuses_the_task_gives_a_json_503_with_retry_after(admin_client, monkeypatch, settings) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    ModelVersionFactory()

    def refuse(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr("jobs.services.async_task", refuse)
    response = admin_client.post("/api/jobs/train", {"epochs": 3}, content_type="application/json")

    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30" and "queue is unavailable" in response.json()["detail"]
    assert BackgroundJob.objects.get().status == "failed"
    assert not ModelVersion.objects.filter(status="training").exists()  # the claim was released


def test_pruning_keeps_the_files_and_scores_of_versions_in_use_only(settings, tmp_path) -> None:
    from datetime import UTC, datetime

    from detection.services import prune_old_versions
    from tests.factories import TransactionScoreFactory

    settings.ARTIFACTS_DIR = tmp_path
    days = [datetime(2011, 1, day, tzinfo=UTC) for day in (1, 2, 3)]
    old, previous = (ModelVersionFactory(is_active=False, status="retired", activated_at=day) for day in days[:2])
    active = ModelVersionFactory(activated_at=days[2])
    training = ModelVersion.objects.create(status="training")
    failed = ModelVersion.objects.create(status="failed")
    for version in (old, previous, active, training, failed):
        (tmp_path / f"v{version.pk}").mkdir()
        TransactionScoreFactory(model_version=version)

    prune_old_versions()

    kept = {version.pk for version in (previous, active, training)}
    assert {int(folder.name[1:]) for folder in tmp_path.iterdir()} == kept
    from detection.models import TransactionScore

    assert set(TransactionScore.objects.values_list("model_version_id", flat=True)) == kept
