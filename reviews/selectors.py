"""Read paths for reviews: the verdicts analysts gave, joined to a model version's flags."""

from __future__ import annotations

from typing import Any

import pandas as pd

from detection.models import ModelVersion
from detection.selectors import require_active_model_version, scores_for

from .models import Review, ReviewEvent

CLOSED_REVIEW_STATUSES = ("confirmed_fraud", "false_positive")
REVIEWED_FLAG_FIELDS = ("iso_forest_flag", "autoencoder_flag", "is_flagged", "is_common_anomaly")


def reviewed_flags(version: ModelVersion | None = None) -> list[dict[str, Any]]:
    """The version's flags on every transaction whose review is closed, with `confirmed` (fraud) per row.

    One query; rows of reviews still new or investigating are left out.
    """
    version = version or require_active_model_version()
    rows = (
        scores_for(version)
        .filter(transaction__review__status__in=CLOSED_REVIEW_STATUSES)
        .values("transaction_id", "transaction__review__status", *REVIEWED_FLAG_FIELDS)
    )
    return [
        {
            "transaction_id": row["transaction_id"],
            "confirmed": row["transaction__review__status"] == "confirmed_fraud",
            **{name: row[name] for name in REVIEWED_FLAG_FIELDS},
        }
        for row in rows
    ]


def verdict_labels() -> pd.DataFrame:
    """Every closed verdict as a training label (detection.labels.LABEL_COLUMNS): transaction_id, label
    (1 confirmed fraud, 0 false positive), review_id, closed_at. One query; the DETECTION_LABEL_PROVIDER."""
    rows = Review.objects.filter(status__in=CLOSED_REVIEW_STATUSES).values_list(
        "transaction_id", "status", "pk", "closed_at"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["transaction_id", "status", "review_id", "closed_at"])
    frame["label"] = (frame["status"] == Review.Status.CONFIRMED_FRAUD).astype("int64")
    return frame[["transaction_id", "label", "review_id", "closed_at"]]


def review_with_events(transaction_id: int) -> tuple[Review | None, list[ReviewEvent]]:
    """The transaction's review (None when it is still implicitly new) and its history, oldest first."""
    review = Review.objects.filter(transaction_id=transaction_id).select_related("analyst").first()
    if review is None:
        return None, []
    return review, list(review.events.select_related("actor").order_by("at", "id"))
