"""manage.py score_transactions: score rows that arrived since the active model was trained."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from detection.services import score_new_transactions


class Command(BaseCommand):
    help = "Score scoreable transactions that have no score for the active model yet (no retraining)."

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        try:
            scored = score_new_transactions()
        except ApplicationError as exc:
            raise CommandError(f"score_transactions: {exc}") from exc
        self.stdout.write(f"Scored {scored:,} new transactions in {time.perf_counter() - started:.1f} s.")
