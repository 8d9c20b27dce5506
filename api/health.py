"""The service's own health: whether the database answers and which model is active since when."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone

from detection.selectors import active_model_version


def service_health() -> dict[str, Any]:
    """{"status": ok | no_model | database_unreachable, "database": ok | unreachable, "active_model": ...}."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        version = active_model_version()
    except DatabaseError:
        return {"status": "database_unreachable", "database": "unreachable", "active_model": None}
    if version is None:
        return {"status": "no_model", "database": "ok", "active_model": None}
    age = (timezone.now() - version.activated_at).total_seconds() if version.activated_at else None
    return {
        "status": "ok",
        "database": "ok",
        "active_model": {
            "id": version.pk,
            "activated_at": version.activated_at,
            "trained_at": version.finished_at,
            "age_seconds": None if age is None else round(age, 1),
        },
    }
