"""manage.py export_serving_arrays: give versions trained before the numpy exports their `.npz` files."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from detection.models import ModelVersion
from detection.services import export_serving_arrays


class Command(BaseCommand):
    help = (
        "Export the scaler, autoencoder and Isolation Forest of model versions as numpy arrays, so that "
        "scoring with them needs no TensorFlow (default: the active version)."
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
            raise CommandError("export_serving_arrays: no such model version (or no active one)")
        for version in versions:
            try:
                exported = export_serving_arrays(version)
            except ApplicationError as exc:
                raise CommandError(f"export_serving_arrays: v{version.pk}: {exc}") from exc
            self.stdout.write(f"v{version.pk}: " + ("exported" if exported else "has its arrays already"))
