"""manage.py write_sort_orders: store the grid's sort orders of model versions (detection.sort_orders)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser

from detection.grid import write_sort_orders
from detection.management.model_versions import add_model_version_argument, chosen_versions


class Command(BaseCommand):
    help = (
        "Store the order of every grid sort without an index of its own, for versions trained before "
        "training queued it, or whose rows changed since (default: the active version)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_model_version_argument(parser)

    def handle(self, *args, model_version: list[int] | None, **options) -> None:
        for version in chosen_versions(model_version, "write_sort_orders"):
            started = time.perf_counter()
            written = write_sort_orders(version)
            self.stdout.write(f"v{version.pk}: {len(written)} sort orders in {time.perf_counter() - started:.1f} s")
