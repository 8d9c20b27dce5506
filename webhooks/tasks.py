"""django-q2 entry points for webhook delivery."""

from __future__ import annotations

from . import services


def deliver_pending() -> dict[str, int]:
    """Deliver every due webhook (queued on commit of each emit, and run by the periodic sweep)."""
    return services.deliver_due()
