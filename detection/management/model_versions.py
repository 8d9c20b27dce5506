"""What the management commands that act on chosen model versions share: the option and the choice."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser
from django.db.models import QuerySet

from detection.models import ModelVersion


def add_model_version_argument(parser: CommandParser) -> None:
    """`--model-version ID`, repeatable."""
    parser.add_argument(
        "--model-version", dest="model_version", type=int, action="append", help="a model version id (repeatable)"
    )


def chosen_versions(model_version: list[int] | None, command: str) -> QuerySet[ModelVersion]:
    """The versions asked for, else the active one; CommandError naming `command` when there is none."""
    versions = (
        ModelVersion.objects.filter(pk__in=model_version)
        if model_version
        else ModelVersion.objects.filter(is_active=True)
    )
    if not versions:
        raise CommandError(f"{command}: no such model version (or no active one)")
    return versions
