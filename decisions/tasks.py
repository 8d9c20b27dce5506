"""django-q2 entry points for decisions."""

from __future__ import annotations

from . import services


def redecide_active() -> int:
    """Re-decide every stored row of the active model under the published policy."""
    return services.redecide_version()


def decide_undecided() -> int:
    """Decide the active model's stored rows that have no decision yet (schedule it after scoring)."""
    return services.decide_undecided()
