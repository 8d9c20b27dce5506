"""django-q2 entry points for loaded data."""

from __future__ import annotations

from typing import Any

from .uploads import run_ingest_job


def ingest_upload(job_id: int) -> dict[str, Any]:
    """Ingest the stored upload of job `job_id`."""
    return run_ingest_job(job_id)
