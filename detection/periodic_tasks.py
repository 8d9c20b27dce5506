"""The django-q2 schedules the site runs, created (or left alone) by `manage.py setup_periodic_tasks`."""

from __future__ import annotations

from django.utils import timezone
from django_q.models import Schedule

SCORE_NEW_TRANSACTIONS = "Score new transactions"


def ensure_periodic_tasks() -> list[str]:
    """Create the missing schedules; return the names created. Existing ones keep an admin's changes.

    "Score new transactions" runs every 15 minutes and is created disabled: django-q2 1.11's
    Schedule has no "enabled" field and its scheduler skips schedules with repeats = 0, so an admin
    enables it by setting Repeats to -1 (Django Q -> Scheduled tasks) and disables it with 0.
    """
    _, created = Schedule.objects.get_or_create(
        name=SCORE_NEW_TRANSACTIONS,
        defaults={
            "func": "detection.tasks.score_new_transactions",
            "schedule_type": Schedule.MINUTES,
            "minutes": 15,
            "repeats": 0,
            "next_run": timezone.now(),
        },
    )
    return [SCORE_NEW_TRANSACTIONS] if created else []
