"""Training as a background job: claim the training lock in the request, train in the django-q2 worker."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from jobs import services as jobs
from jobs.models import BackgroundJob
from jobs.recovery import Outcome

from .errors import TrainingError
from .models import ModelVersion
from .services import claim_training, fail_version, prune_old_versions, train_and_activate
from .training_parameters import TrainingParameters

# Who may start a training run, in the admin and through the API alike.
TRAIN_PERMISSIONS = ("jobs.add_backgroundjob", "detection.add_modelversion")


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
        trained = train_and_activate(
            contamination=parameters["contamination"],
            epochs=parameters["epochs"],
            seed=parameters["seed"],
            started_by=job.created_by,
            version=version,
            progress=progress,
            candidate=parameters.get("candidate", False),
        )
        return training_result(trained)

    return jobs.run_job(job_id, work)


def training_result(version: ModelVersion) -> dict[str, Any]:
    """What a finished training job reports: the version, rows scored and flags."""
    metrics = version.metrics
    return {
        "summary": f"v{version.pk} {version.status}: {metrics.get('rows', 0):,} rows scored, "
        f"{metrics.get('flagged_either', 0):,} flagged",
        "model_version_id": version.pk,
        "rows": metrics.get("rows", 0),
        "flagged": metrics.get("flagged_either", 0),
        "common_anomalies": metrics.get("common_anomalies", 0),
    }


def reconcile_dead_training(job: BackgroundJob, reason: str) -> Outcome:
    """Settle a training job whose worker died, from the database: its version decides.

    A version already activated or kept as the candidate (the scores committed before the worker
    died) means the run succeeded; pruning of old versions, which may not have run, runs now. Otherwise the version is
    marked failed (its partial scores and files removed) and the active one stays as it was.
    """
    version = ModelVersion.objects.filter(pk=job.parameters.get("model_version_id")).first()
    finished = version is not None and (
        version.activated_at is not None or version.status == ModelVersion.Status.CANDIDATE
    )
    if finished:
        prune_old_versions()
        message = f"v{version.pk} was {'activated' if version.activated_at else 'kept as the candidate'}; {reason}"
        return Outcome(succeeded=True, message=message, result=training_result(version))
    if version is not None:
        fail_version(version.pk, f"interrupted: {reason}")
    return Outcome(succeeded=False, message=f"interrupted: {reason}")
