"""Learning from analysts' verdicts at training time: the supervised layer (supervised.py) and the
feedback effects (feedback.py) added to a fitted FusedDetector. Pure pandas/numpy; no ORM.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .feedback import RAISE_SHARE, build_feedback, evidence_keys, evidence_strength
from .fusion import FusedDetector, history_matrix
from .supervised import (
    BLEND_WEIGHT,
    MIN_LABELS_PER_CLASS,
    background_sample,
    enough_labels,
    fit_supervised,
    label_counts,
    supervised_inputs,
)


def learn_from_labels(
    fused: FusedDetector,
    features: pd.DataFrame,
    frame: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    seed: int = 0,
    scored: pd.DataFrame | None = None,
) -> tuple[FusedDetector, dict]:
    """Return `fused` with the supervised layer (when there are enough labels) and the feedback of
    `labels` (labels.LABEL_COLUMNS), and the summary a version records.

    `features`: history_features of the training sale lines; `frame`: their transaction_id,
    customer_id and invoice_date (same index); `scored`: `fused.score(features)` when the caller has
    it already. Verdicts on other lines are counted as unused. With no labels `fused` is returned
    unchanged.
    """
    summary = {
        "provided": len(labels),
        "used": label_counts(np.array([], dtype=np.int64)),
        "review_ids": {"confirmed_fraud": [], "false_positive": []},
        "blended": False,
        "blend_weight": 0.0,
        "min_labels_per_class": MIN_LABELS_PER_CLASS,
        "feedback_verdicts": 0,
    }
    if labels.empty:
        return fused, summary
    ids = frame["transaction_id"].to_numpy(np.int64)
    order = np.argsort(ids, kind="stable")
    found = np.searchsorted(ids[order], labels["transaction_id"].to_numpy(np.int64))
    found = np.minimum(found, len(ids) - 1)
    matched = ids[order][found] == labels["transaction_id"].to_numpy(np.int64)
    positions = order[found[matched]]
    used = labels[matched]
    classes = used["label"].to_numpy(np.int64)
    summary["used"] = label_counts(classes)
    summary["review_ids"] = {
        "confirmed_fraud": sorted(used.loc[classes == 1, "review_id"].astype(int).tolist()),
        "false_positive": sorted(used.loc[classes == 0, "review_id"].astype(int).tolist()),
    }
    scored = fused.score(features) if scored is None else scored
    if enough_labels(classes):
        inputs = supervised_inputs(history_matrix(features, fused.model_features), scored)
        unlabelled = np.setdiff1d(np.arange(len(features)), positions)
        background = background_sample(unlabelled, seed=seed)
        layer, raw = fit_supervised(inputs[positions], classes, inputs[background], inputs, seed=seed)
        blended = layer.blend(scored["fused_surprise"].to_numpy(), inputs, raw=raw)
        fused = replace(fused, supervised=layer, fused_threshold=float(np.quantile(blended, 1.0 - fused.contamination)))
        summary.update(blended=True, blend_weight=BLEND_WEIGHT, background_rows=len(background))
    feedback = build_feedback(
        used,
        ids[positions],
        frame["customer_id"].to_numpy()[positions],
        frame["invoice_date"].iloc[positions],
        evidence_keys(scored.iloc[positions]),
        evidence_strength(scored.iloc[positions]),
    )
    summary["feedback_verdicts"] = len(feedback.verdicts)
    if len(feedback.verdicts):
        final = blended if fused.supervised is not None else scored["fused_surprise"].to_numpy()
        feedback = replace(feedback, raise_floor=float(np.quantile(final, 1.0 - RAISE_SHARE)))
        fused = replace(fused, feedback=feedback)
    return fused, summary
