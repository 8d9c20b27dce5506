"""The django-q2 schedules of the site: each app registers its own; `setup_periodic_tasks` creates them."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from django_q.models import Schedule


@dataclass(frozen=True)
class PeriodicTask:
    """A schedule to create once: what runs, how often, and whether it starts enabled (repeats -1) or not (0).

    django-q2 1.11's Schedule has no "enabled" field; its scheduler skips schedules with repeats = 0,
    so an admin enables one by setting Repeats to -1 (Django Q -> Scheduled tasks) and disables it with 0.
    """

    name: str
    func: str
    minutes: int
    enabled: bool


_PERIODIC_TASKS: dict[str, PeriodicTask] = {}


def register_periodic_task(task: PeriodicTask) -> None:
    """Declare a schedule (from an AppConfig.ready); `ensure_periodic_tasks` creates it."""
    _PERIODIC_TASKS[task.name] = task


def ensure_periodic_tasks() -> list[str]:
    """Create the missing schedules; return the names created. Existing ones keep an admin's changes."""
    created = []
    for task in _PERIODIC_TASKS.values():
        _, new = Schedule.objects.get_or_create(
            name=task.name,
            defaults={
                "func": task.func,
                "schedule_type": Schedule.MINUTES,
                "minutes": task.minutes,
                "repeats": -1 if task.enabled else 0,
                "next_run": timezone.now(),
            },
        )
        if new:
            created.append(task.name)
    return created
