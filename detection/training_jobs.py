"""Training as a background job: claim the training lock in the request, train in the django-q2 worker."""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone

from jobs import services as jobs
from jobs.models import BackgroundJob

from .errors import TrainingError
from .models import ModelVersion
from .services import claim_training, train_and_activate
from .training_parameters import TrainingParameters

# Who may start a training run, in the admin and through the API alike.
TRAIN_PERMISSIONS = ("jobs.add_backgroundjob", "detection.add_modelversion")
HEARTBEAT_EVERY = 60.0  # seconds; services.STALE_TRAINING_AFTER is 30 minutes


def queue_training(*, user=None, parameters: TrainingParameters | None = None) -> BackgroundJob:
    """Claim a new model version now and queue its training; return the job.

    Raises TrainingInProgress while another live run holds the lock, so a second request is refused
    at once rather than in the worker.
    """
    parameters = (parameters or TrainingParameters()).as_dict()
    version = claim_training(started_by=user, parameters=parameters, seed=parameters["seed"])
    _close_abandoned_training_jobs()
    job = jobs.create_job(
        kind=BackgroundJob.Kind.TRAIN, user=user, parameters={**parameters, "model_version_id": version.pk}
    )
    try:
        return jobs.enqueue(job, "detection.tasks.train", job.pk)
    except Exception as exc:
        ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.TRAINING).update(
            status=ModelVersion.Status.FAILED, error=f"could not queue: {exc}"[:4000], finished_at=timezone.now()
        )
        raise


def _close_abandoned_training_jobs() -> None:
    """Mark failed the training jobs still queued or running: the lock was free, so their run is dead."""
    BackgroundJob.objects.filter(
        kind=BackgroundJob.Kind.TRAIN, status__in=[BackgroundJob.Status.QUEUED, BackgroundJob.Status.RUNNING]
    ).update(
        status=BackgroundJob.Status.FAILED,
        message="failed",
        error="interrupted: its training stopped sending heartbeats",
        finished_at=timezone.now(),
    )


def run_training_job(job_id: int) -> dict[str, Any]:
    """Train the version the job claimed, reporting progress on the job; return the outcome."""
    job = BackgroundJob.objects.get(pk=job_id)
    parameters = job.parameters
    version = ModelVersion.objects.get(pk=parameters["model_version_id"])

    def work(progress: jobs.JobProgress) -> dict[str, Any]:
        if version.status != ModelVersion.Status.TRAINING:
            raise TrainingError(f"v{version.pk} is {version.status}: its claim expired before the worker started")
        beat = _heartbeat(version.pk)
        beat()

        def report(stage: str, fraction: float) -> None:
            progress(stage, fraction)
            beat()

        trained = train_and_activate(
            contamination=parameters["contamination"],
            epochs=parameters["epochs"],
            seed=parameters["seed"],
            started_by=job.created_by,
            version=version,
            progress=report,
        )
        metrics = trained.metrics
        return {
            "summary": f"v{trained.pk} active: {metrics.get('rows', 0):,} rows scored, "
            f"{metrics.get('flagged_either', 0):,} flagged",
            "model_version_id": trained.pk,
            "rows": metrics.get("rows", 0),
            "flagged": metrics.get("flagged_either", 0),
            "common_anomalies": metrics.get("common_anomalies", 0),
        }

    return jobs.run_job(job_id, work)


def _heartbeat(version_id: int):
    """Return a callable that refreshes the version's heartbeat at most every HEARTBEAT_EVERY seconds."""
    last = [0.0]

    def beat() -> None:
        now = time.monotonic()
        if now - last[0] >= HEARTBEAT_EVERY:
            last[0] = now
            ModelVersion.objects.filter(pk=version_id).update(heartbeat_at=timezone.now())

    return beat
