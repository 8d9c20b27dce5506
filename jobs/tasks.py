"""django-q2 entry points of the jobs app."""

from __future__ import annotations

from .recovery import recover_dead_jobs


def recover_dead_jobs_task() -> list[int]:
    """Settle runs whose worker died (the periodic sweep; worker start-up does it too)."""
    return recover_dead_jobs()
