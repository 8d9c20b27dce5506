"""manage.py setup_periodic_tasks: create the site's django-q2 schedules that do not exist yet."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from jobs.schedules import ensure_periodic_tasks


class Command(BaseCommand):
    help = "Create the missing periodic tasks every app declares (jobs.schedules); idempotent."

    def handle(self, *args, **options) -> None:
        created = ensure_periodic_tasks()
        self.stdout.write(f"Created: {', '.join(created)}." if created else "Every periodic task exists already.")
