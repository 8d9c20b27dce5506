"""django-q2 entry points for detection."""

from __future__ import annotations

from typing import Any

from . import services, training_jobs


def train(job_id: int) -> dict[str, Any]:
    """Train the model version claimed by job `job_id` and activate it."""
    return training_jobs.run_training_job(job_id)


def score_new_transactions() -> int:
    """Score the rows that arrived since the active model was trained (the scheduled task)."""
    return services.score_new_transactions()


def score_id_range(version_id: int, first_id: int, last_id: int) -> int:
    """Score one id-range chunk of a large batch (idempotent; see detection.chunked)."""
    from . import chunked

    return chunked.score_id_range(version_id, first_id, last_id)


def write_sort_orders(version_id: int) -> int:
    """Store the grid's sort orders of version `version_id` (queued after training); return how many."""
    from . import grid
    from .models import ModelVersion

    version = ModelVersion.objects.filter(pk=version_id).first()
    return len(grid.write_sort_orders(version)) if version is not None else 0
