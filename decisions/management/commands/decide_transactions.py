"""Re-decide every stored row of the active model under the published policy (no retraining)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from decisions import services
from decisions.selectors import published_policy


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=50_000, help="Rows read and written at a time.")

    def handle(self, *args, chunk_size: int, **options):
        start = time.perf_counter()
        decided = services.redecide_version(chunk_size=chunk_size)
        policy = published_policy()
        self.stdout.write(f"{decided:,} rows decided under policy v{policy.pk} in {time.perf_counter() - start:.1f} s")
