"""Receivers: a django-q2 worker that starts settles the runs its dead predecessors left behind."""

from __future__ import annotations

import logging

from .recovery import recover_dead_jobs

logger = logging.getLogger(__name__)


def recover_when_a_worker_starts(sender, proc_name: str = "", **kwargs) -> None:
    """On each worker spawn: settle runs whose process is gone, so a restart frees their locks at once."""
    try:
        settled = recover_dead_jobs()
    except Exception:  # never keep a worker from starting
        logger.exception("could not check for dead runs at worker start")
        return
    if settled:
        logger.warning("worker %s settled dead runs: %s", proc_name, settled)
