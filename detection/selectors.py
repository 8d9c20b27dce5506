"""Read paths for detection results, shared by the API and the dashboard. Return plain data."""

from __future__ import annotations

from .models import ModelVersion


def active_model_version() -> ModelVersion | None:
    """The active model version, or None before the first training."""
    return ModelVersion.objects.filter(is_active=True).first()
