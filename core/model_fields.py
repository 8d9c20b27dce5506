"""Field definitions several apps' tables repeat: a reference to a user, a status column."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


def user_reference(*, related_name: str = "+", blank: bool = True, **options: Any) -> models.ForeignKey:
    """A user the row names (author, actor, assignee); NULL once that user is deleted, the row kept."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=blank,
        on_delete=models.SET_NULL,
        related_name=related_name,
        **options,
    )


def status_field(choices: list[tuple[str, str]], **options: Any) -> models.CharField:
    """A status column of up to 20 characters, limited to `choices`."""
    return models.CharField(max_length=20, choices=choices, **options)
