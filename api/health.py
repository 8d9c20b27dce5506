"""The service's health, dependency by dependency, and one overall status a load balancer can act on.

Overall status (HTTP status):
- `ok` (200): the database answers, the active model's files are present and match their sha256,
  the job broker answers and a worker ran the one-minute sweep recently;
- `degraded` (200): reads work but something else does not: no model yet (`model.status` "none"),
  its files missing or changed ("broken": scoring answers 503), the broker down (jobs cannot
  start), or no worker seen for WORKER_STALE_SECONDS ("stale") or ever ("unknown");
- `down` (503 with Retry-After): the database does not answer, so nothing works.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Success
from rest_framework.response import Response

from detection.errors import ArtifactError
from detection.estimators import verified_path
from detection.selectors import active_model_version

WORKER_STALE_SECONDS = 180  # the sweep runs every minute: three missed runs mean no worker
SWEEP_FUNC = "jobs.tasks.recover_dead_jobs_task"
RETRY_AFTER_SECONDS = 5
logger = logging.getLogger(__name__)
_verified: dict[tuple[int, str], bool] = {}


def database_check() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return {"status": "down", "detail": "the database does not answer"}
    return {"status": "ok"}


def model_check() -> dict[str, Any]:
    """The active version, and whether its artifact files are present and unchanged (checked once per file state)."""
    version = active_model_version()
    if version is None:
        return {"status": "none", "detail": "no model has been trained yet"}
    age = (timezone.now() - version.activated_at).total_seconds() if version.activated_at else None
    summary = {
        "id": version.pk,
        "activated_at": version.activated_at,
        "trained_at": version.finished_at,
        "age_seconds": None if age is None else round(age, 1),
    }
    try:
        for name in version.artifacts:
            key = (version.pk, name)
            if not _verified.get(key):
                verified_path(version.artifacts, name)
                _verified[key] = True
            elif not _still_there(version.artifacts[name]["path"]):
                _verified.pop(key)
                raise ArtifactError(f"model artifact '{name}' is missing: {version.artifacts[name]['path']}")
    except ArtifactError:  # the path stays in the logs, not in this open endpoint
        logger.warning("health: the active model's files are unusable", exc_info=True)
        return {"status": "broken", "detail": "the active model's files are missing or changed", **summary}
    return {"status": "ok", **summary}


def _still_there(path: str) -> bool:
    return Path(path).is_file()


def broker_check() -> dict[str, Any]:
    broker = get_broker()
    kind = type(broker).__name__.lower()
    try:
        alive = broker.ping()
    except Exception:  # a broker client raises its own errors (redis.ConnectionError, ...)
        logger.warning("health: the job broker does not answer", exc_info=True)
        return {"status": "down", "kind": kind, "detail": "the job broker does not answer"}
    return {"status": "ok" if alive else "down", "kind": kind}


def worker_check() -> dict[str, Any]:
    """When a worker last finished the one-minute sweep of dead runs."""
    last = Success.objects.filter(func=SWEEP_FUNC).order_by("-stopped").values_list("stopped", flat=True).first()
    if last is None:
        return {"status": "unknown", "detail": "no worker has run the sweep yet (is qcluster running?)"}
    age = (timezone.now() - last).total_seconds()
    stale = timedelta(seconds=age) > timedelta(seconds=WORKER_STALE_SECONDS)
    return {"status": "stale" if stale else "ok", "last_seen_seconds": round(age, 1)}


def health_status_code(health: dict[str, Any]) -> int:
    return 503 if health["status"] == "down" else 200


def service_health() -> dict[str, Any]:
    """Each dependency's check and the overall status (see the module docstring)."""
    database = database_check()
    if database["status"] != "ok":
        checks = {"database": database}
        status = "down"
    else:
        checks = {"database": database, "model": model_check(), "broker": broker_check(), "worker": worker_check()}
        status = "ok" if all(check["status"] == "ok" for check in checks.values()) else "degraded"
    model = checks.get("model", {})
    return {
        "status": status,
        "checks": checks,
        # Kept from the first version of this endpoint, for monitors that read them.
        "database": "ok" if database["status"] == "ok" else "unreachable",
        "active_model": {key: model[key] for key in ("id", "activated_at", "trained_at", "age_seconds")}
        if "id" in model
        else None,
    }


def health_response(health: dict[str, Any]) -> Response:
    """The health payload with its HTTP status (and Retry-After when down)."""
    code = health_status_code(health)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if code == 503 else None
    return Response(health, status=code, headers=headers)
