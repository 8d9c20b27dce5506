"""System checks: the score-field registry and the models must describe the same columns."""

from __future__ import annotations

from django.core import checks
from django.core.exceptions import FieldDoesNotExist

from . import fields


@checks.register(checks.Tags.models)
def registry_matches_models(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """An error for each registry entry naming no model field, and each score column without an entry."""
    from .models import TransactionScore

    errors = []
    for field in fields.FIELDS:
        try:
            fields.model_field(field.key)
        except (FieldDoesNotExist, AttributeError) as exc:
            message = f"score field {field.key!r} names no model field ({field.path}): {exc}"
            errors.append(checks.Error(message, id="detection.E001"))
    stored = {*fields.SCORE_COLUMNS, *fields.COPIED_KEYS}
    for column in TransactionScore._meta.concrete_fields:
        if column.name in {"id", "model_version"}:
            continue
        if column.attname not in stored:
            errors.append(
                checks.Error(f"TransactionScore.{column.attname} has no entry in detection.fields", id="detection.E002")
            )
    return errors
