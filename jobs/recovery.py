"""Runs whose worker died: found at once on the same host (the process is gone) or by a silent
heartbeat elsewhere, then settled by the app that owns the work (a training that had already
activated its version succeeded; anything else failed) instead of staying "running" for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .liveness import worker_is_dead
from .models import BackgroundJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """How a dead run ended, as its owner judges from the database."""

    succeeded: bool
    message: str
    result: dict[str, Any] = field(default_factory=dict)


Reconciler = Callable[[BackgroundJob, str], Outcome]
_RECONCILERS: dict[str, Reconciler] = {}


def register_reconciler(kind: str, reconciler: Reconciler) -> None:
    """Let the app that owns `kind` settle its dead runs (called from its AppConfig.ready)."""
    _RECONCILERS[kind] = reconciler


def _fail(job: BackgroundJob, reason: str) -> Outcome:
    return Outcome(succeeded=False, message=reason)


def dead_running_jobs() -> list[BackgroundJob]:
    """Running jobs whose process is gone from this host, or whose heartbeat is older than STALE_AFTER_SECONDS."""
    stale_before = timezone.now() - timedelta(seconds=settings.STALE_AFTER_SECONDS)
    running = BackgroundJob.objects.filter(status=BackgroundJob.Status.RUNNING)
    silent = Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, started_at__lt=stale_before)
    silent_ids = set(running.filter(silent).values_list("pk", flat=True))
    return [job for job in running if job.pk in silent_ids or (job.worker and worker_is_dead(job.worker))]


def settle(job: BackgroundJob, reason: str) -> bool:
    """Settle one dead (or abandoned) run through its owner; return False if it had finished meanwhile."""
    outcome = _RECONCILERS.get(job.kind, _fail)(job, reason)
    status = BackgroundJob.Status.SUCCEEDED if outcome.succeeded else BackgroundJob.Status.FAILED
    updated = BackgroundJob.objects.filter(pk=job.pk, status__in=[job.status]).update(
        status=status,
        message=outcome.message[:255] if outcome.succeeded else "failed",
        error="" if outcome.succeeded else outcome.message[:4000],
        result=outcome.result or job.result,
        finished_at=timezone.now(),
    )
    if updated:
        logger.warning("job #%s (%s) settled as %s: %s", job.pk, job.kind, status, outcome.message)
    return bool(updated)


def recover_dead_jobs() -> list[int]:
    """Settle every dead running job; return their ids. Safe to call often and from any process."""
    return [job.pk for job in dead_running_jobs() if settle(job, "the worker running it stopped (killed or lost)")]
