"""django-q2 entry points for detection."""

from __future__ import annotations


def score_id_range(version_id: int, first_id: int, last_id: int) -> int:
    """Score one id-range chunk of a large batch (idempotent; see detection.chunked)."""
    from . import chunked

    return chunked.score_id_range(version_id, first_id, last_id)
