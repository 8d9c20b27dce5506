"""A check that score rows repeat their transaction's columns (detection.fields.COPIED_KEYS)."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from detection.fields import COPIED_KEYS
from detection.models import TransactionScore


def stale_copies(scores: QuerySet[TransactionScore]) -> int:
    """How many of `scores` differ from their transaction in a copied column."""
    differs = Q()
    for key in COPIED_KEYS:
        differs |= ~Q(**{key: F(f"transaction__{key}")})
    return scores.filter(differs).count()
