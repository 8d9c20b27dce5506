"""Write path for exports: one log entry per download."""

from __future__ import annotations

from typing import Any

from .models import ExportLog


def record_export(*, user, kind: str, file_format: str, parameters: dict[str, Any]) -> ExportLog:
    """Log that `user` exported `kind` as `file_format` with these filters; returns the entry."""
    return ExportLog.objects.create(user=user, kind=kind, file_format=file_format, parameters=parameters)
