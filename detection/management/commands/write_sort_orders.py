"""manage.py write_sort_orders: store the grid's sort orders of model versions (detection.sort_orders)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.grid import write_sort_orders
from detection.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Store the order of every grid sort without an index of its own, for versions trained before "
        "training queued it, or whose rows changed since (default: the active version)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--model-version", dest="model_version", type=int, action="append", help="a model version id (repeatable)"
        )

    def handle(self, *args, model_version: list[int] | None, **options) -> None:
        versions = (
            ModelVersion.objects.filter(pk__in=model_version)
            if model_version
            else ModelVersion.objects.filter(is_active=True)
        )
        if not versions:
            raise CommandError("write_sort_orders: no such model version (or no active one)")
        for version in versions:
            started = time.perf_counter()
            written = write_sort_orders(version)
            self.stdout.write(f"v{version.pk}: {len(written)} sort orders in {time.perf_counter() - started:.1f} s")
