"""Background jobs: create the job row, queue it on django-q2, run it recording progress and outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from core.errors import ServiceUnavailable
from core.heartbeat import Heartbeat

from .liveness import worker_identity
from .models import BackgroundJob

logger = logging.getLogger(__name__)


class QueueUnavailable(ServiceUnavailable):
    """The job queue (the broker: the database or Redis) cannot take the task now."""

    default_message = "The job queue is unavailable right now; nothing was started. Retry shortly."


# A job's work: gets a progress callback (stage, fraction 0..1), returns the result to store.
JobWork = Callable[["JobProgress"], dict[str, Any]]


class JobProgress:
    """Progress callback that writes the stage and fraction to the job row.

    Writes at most once a second unless the stage changes, so a fast loop costs few queries. Inside
    a service's database transaction the writes only become visible when it commits.
    """

    min_interval = 1.0

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.stage = ""
        self.fraction = 0.0
        self._written_at = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        fraction = min(max(float(fraction), self.fraction if stage == self.stage else 0.0), 1.0)
        now = time.monotonic()
        if stage == self.stage and now - self._written_at < self.min_interval:
            self.fraction = fraction
            return
        self.stage, self.fraction, self._written_at = stage, fraction, now
        BackgroundJob.objects.filter(pk=self.job_id).update(progress=round(fraction, 4), message=stage[:255])


def create_job(
    *, kind: str, user=None, parameters: dict[str, Any] | None = None, upload_path: str = ""
) -> BackgroundJob:
    """Return a new queued job row."""
    return BackgroundJob.objects.create(
        kind=kind,
        created_by=user if user is not None and user.is_authenticated else None,
        parameters=parameters or {},
        upload_path=upload_path,
        message="queued",
    )


def enqueue(job: BackgroundJob, func: str, *args: Any) -> BackgroundJob:
    """Queue `func(*args)` on django-q2, record its task id and return the refreshed job.

    django-q2 reads Q_CLUSTER["sync"] once, at import; reading it here at call time lets settings
    overrides take effect. In sync mode the task has run when this returns, and a failure of the
    task is already recorded on the job row, so it is not raised again here.
    """
    sync = bool(settings.Q_CLUSTER.get("sync", False))
    try:
        task_id = async_task(func, *args, sync=sync, group=f"{job.kind}-jobs")
    except Exception as exc:
        if not sync:
            fail_job(job.pk, f"could not queue the task: {type(exc).__name__}: {exc}")
            logger.error("job #%s could not be queued: %s", job.pk, exc)
            raise QueueUnavailable() from exc
        logger.info("job #%s failed in sync mode: %s", job.pk, exc)
        task_id = ""
    BackgroundJob.objects.filter(pk=job.pk).update(task_id=task_id or "")
    job.refresh_from_db()
    return job


def run_job(job_id: int, work: JobWork) -> dict[str, Any]:
    """Run `work` for the job: mark it running, then succeeded with the result or failed with the error.

    While it runs, the job records which process runs it and beats a heartbeat (see jobs.recovery).
    Returns the result; re-raises the error after recording it, so django-q2 records a failure too.
    """
    started = time.perf_counter()
    BackgroundJob.objects.filter(pk=job_id).update(
        status=BackgroundJob.Status.RUNNING,
        started_at=timezone.now(),
        progress=0.0,
        message="started",
        worker=worker_identity(),
    )
    try:
        with Heartbeat(lambda: BackgroundJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())):
            result = work(JobProgress(job_id))
    except BaseException as exc:
        fail_job(job_id, f"{type(exc).__name__}: {exc}", duration=time.perf_counter() - started)
        raise
    BackgroundJob.objects.filter(pk=job_id).update(
        status=BackgroundJob.Status.SUCCEEDED,
        progress=1.0,
        message=str(result.get("summary", "done"))[:255],
        result=result,
        finished_at=timezone.now(),
        duration_seconds=time.perf_counter() - started,
    )
    return result


def fail_job(job_id: int, error: str, *, duration: float | None = None) -> None:
    """Mark the job failed with `error`."""
    BackgroundJob.objects.filter(pk=job_id).update(
        status=BackgroundJob.Status.FAILED,
        message="failed",
        error=error[:4000],
        finished_at=timezone.now(),
        duration_seconds=duration,
    )
