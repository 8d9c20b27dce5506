"""Re-decide every stored row of the active model under the published policy (no retraining);
with --undecided, decide only the rows without a decision (new scores, a newly trained model)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from decisions import services
from decisions.selectors import published_policy


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=50_000, help="Rows read and written at a time.")
        parser.add_argument("--undecided", action="store_true", help="Only the rows without a decision yet.")

    def handle(self, *args, chunk_size: int, undecided: bool, **options):
        start = time.perf_counter()
        if undecided:
            decided = services.decide_undecided(chunk_size=chunk_size)
        else:
            decided = services.redecide_version(chunk_size=chunk_size)
        policy = published_policy()
        self.stdout.write(f"{decided:,} rows decided under policy v{policy.pk} in {time.perf_counter() - start:.1f} s")
