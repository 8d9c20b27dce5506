"""A model version measured against analysts' verdicts, in pandas: precision of its top k, the false
positive rate among its reviewed alerts, and the hours from alert to verdict. Frames in, plain data out.

Definitions (the README's "Against analysts' labels"):
- a verdict is a closed review: confirmed_fraud or false_positive;
- precision@k: confirmed fraud / rows with a verdict, among the version's k highest anomaly scores
  (ties by transaction id); rows without a verdict are left out, and `reviewed` says how many had one;
- false-positive rate: false positives / verdicts, among the version's alerts (`is_flagged` rows);
- per model (`detection.evaluation.precision_against_reviews`, as `evaluate_reviews` prints it): the
  reviewed rows each model's flag marks, the confirmed fraud among them, precision and recall;
- alert time: the later of the row's arrival (its import batch finished) and the version's
  activation (its training's end for a version never activated): when the version could first show
  the row to an analyst. Verdicts given before that (the label of an earlier version's alert) are
  counted in `verdicts_before_alert` and left out of the hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from detection.evaluation import precision_against_reviews

CONFIRMED, FALSE_POSITIVE = "confirmed_fraud", "false_positive"
VERDICTS = (CONFIRMED, FALSE_POSITIVE)
TOP_KS = (100, 1000)


@dataclass(frozen=True)
class PrecisionAtK:
    k: int
    reviewed: int
    confirmed: int
    precision: float | None


@dataclass(frozen=True)
class LabelMetrics:
    """One version against the verdicts; None where no verdict exists to measure with."""

    version_id: int
    precision_at: list[PrecisionAtK]
    reviewed_alerts: int
    confirmed: int
    false_positives: int
    false_positive_rate: float | None
    verdict_hours_median: float | None
    verdict_hours_p90: float | None
    timed_verdicts: int
    verdicts_before_alert: int
    by_model: list[dict] = field(default_factory=list)
    labels_used: dict[str, int] = field(default_factory=dict)


def precision_at_k(top: pd.DataFrame, ks: tuple[int, ...] = TOP_KS) -> list[PrecisionAtK]:
    """`top`: the version's rows in rank order (at least max(ks) of them when it has that many),
    with the review `status` (None without a review)."""
    status = top["status"].to_numpy(dtype=object)
    out = []
    for k in ks:
        head = status[:k]
        reviewed = int(np.isin(head, VERDICTS).sum())
        confirmed = int((head == CONFIRMED).sum())
        out.append(PrecisionAtK(k, reviewed, confirmed, confirmed / reviewed if reviewed else None))
    return out


def verdict_hours(alerts: pd.DataFrame, alerted_from: datetime | None) -> np.ndarray:
    """Hours from alert to verdict of each reviewed alert: negative for a verdict given before its alert.

    `alerts` has `closed_at` and `arrived_at` (UTC datetimes); `alerted_from` is the version's activation.
    """
    closed = pd.to_datetime(alerts["closed_at"], utc=True, format="ISO8601")
    alerted = pd.to_datetime(alerts["arrived_at"], utc=True, format="ISO8601")
    if alerted_from is not None:
        alerted = alerted.where(alerted > pd.Timestamp(alerted_from), pd.Timestamp(alerted_from))
    return (closed - alerted).dt.total_seconds().to_numpy() / 3600


def by_model(reviewed: pd.DataFrame) -> list[dict]:
    """Each model's precision and recall on the reviewed rows (None where undefined), from
    `precision_against_reviews`."""
    table = precision_against_reviews(reviewed.assign(confirmed=reviewed["status"].to_numpy(dtype=object) == CONFIRMED))
    table = table.astype(object).where(table.notna(), None)
    return table.reset_index().to_dict("records")


def label_metrics(
    *,
    version_id: int,
    top: pd.DataFrame,
    reviewed: pd.DataFrame,
    alerted_from: datetime | None,
    labels_used: dict[str, int] | None = None,
    ks: tuple[int, ...] = TOP_KS,
) -> LabelMetrics:
    """`top` as for precision_at_k; `reviewed`: the version's rows with a verdict (`status`,
    `closed_at`, `arrived_at` and the flag columns of detection.evaluation.REVIEWED_MODELS)."""
    alerts = reviewed[reviewed["is_flagged"].to_numpy(dtype=bool)] if len(reviewed) else reviewed
    status = alerts["status"].to_numpy(dtype=object)
    confirmed, false_positives = int((status == CONFIRMED).sum()), int((status == FALSE_POSITIVE).sum())
    verdicts = confirmed + false_positives
    hours = verdict_hours(alerts, alerted_from) if len(alerts) else np.array([])
    timed = hours[hours >= 0]
    return LabelMetrics(
        version_id=version_id,
        precision_at=precision_at_k(top, ks),
        reviewed_alerts=verdicts,
        confirmed=confirmed,
        false_positives=false_positives,
        false_positive_rate=false_positives / verdicts if verdicts else None,
        verdict_hours_median=float(np.median(timed)) if len(timed) else None,
        verdict_hours_p90=float(np.quantile(timed, 0.9)) if len(timed) else None,
        timed_verdicts=len(timed),
        verdicts_before_alert=int((hours < 0).sum()),
        by_model=by_model(reviewed) if len(reviewed) else [],
        labels_used=labels_used or {},
    )
