"""The webhook sweep schedule, created (or left alone) by `manage.py setup_periodic_tasks`."""

from __future__ import annotations

from django.utils import timezone
from django_q.models import Schedule

DELIVER_WEBHOOKS = "Deliver pending webhooks"


def ensure_periodic_tasks() -> list[str]:
    """Create the sweep if missing; return the names created. An existing one keeps an admin's changes.

    Every minute it delivers what the on-commit task did not: events of a crashed worker, retries
    that came due. Created enabled (repeats -1): without it a retry would never be attempted.
    """
    _, created = Schedule.objects.get_or_create(
        name=DELIVER_WEBHOOKS,
        defaults={
            "func": "webhooks.tasks.deliver_pending",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )
    return [DELIVER_WEBHOOKS] if created else []
