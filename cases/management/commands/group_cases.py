"""manage.py group_cases: place the active model's flagged rows that are in no case yet into cases."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from cases.services import group_alerts_into_cases, window_days
from detection.selectors import active_model_version


class Command(BaseCommand):
    help = "Group the active model version's flagged rows into cases per customer (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--window-days", type=int, default=None, help="Default: CASE_WINDOW_DAYS.")

    def handle(self, *args, **options) -> None:
        version = active_model_version()
        if version is None:
            raise CommandError("No active model version: train one first (manage.py train_models).")
        window = options["window_days"] or window_days()
        started = time.perf_counter()
        outcome = group_alerts_into_cases(version, window_days_=window)
        self.stdout.write(
            f"{outcome.alerts:,} alerts placed: {len(outcome.opened):,} cases opened, "
            f"{len(outcome.joined):,} open cases joined (window {window} days, {time.perf_counter() - started:.1f} s)."
        )
