"""manage.py export_serving_arrays: give versions trained before the numpy exports their `.npz` files,
and versions saved in format 1 of the bundle their memory-mapped fusion and history files."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApplicationError
from detection.bundle_format import map_bundle_files
from detection.management.model_versions import add_model_version_argument, chosen_versions
from detection.services import export_serving_arrays


class Command(BaseCommand):
    help = (
        "Export the scaler, autoencoder and Isolation Forest of model versions as numpy arrays, so that "
        "scoring with them needs no TensorFlow, and write their fusion arrays and training rows as "
        "memory-mapped .npy files if they are older (default: the active version)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_model_version_argument(parser)

    def handle(self, *args, model_version: list[int] | None, **options) -> None:
        for version in chosen_versions(model_version, "export_serving_arrays"):
            try:
                exported = export_serving_arrays(version)
                mapped = map_bundle_files(version)
            except ApplicationError as exc:
                raise CommandError(f"export_serving_arrays: v{version.pk}: {exc}") from exc
            self.stdout.write(f"v{version.pk}: " + ("exported" if exported else "has its arrays already"))
            written = "mapped files written" if mapped else "has its mapped files already"
            self.stdout.write(f"v{version.pk}: {written}")
