"""Turning transactions into score rows with a fitted detector: shared by training, scoring of
new rows and the scoring API. Pure pandas/numpy; no ORM."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .estimators import Detector, explanations, risk_score
from .features import DISPLAY_NAMES, DISPLAY_SOURCE, MODEL_FEATURES, FeatureReference, build_features, model_matrix
from .fields import FEATURE_COLUMNS


def score_frame(frame: pd.DataFrame, reference: FeatureReference, detector: Detector) -> pd.DataFrame:
    """Return one row per transaction of `frame`: its features, both models' scores and flags,
    RiskScore, anomaly_score and, for flagged rows, an explanation list (None elsewhere)."""
    features = build_features(frame, reference)
    scores = detector.score(model_matrix(features))
    out = pd.DataFrame(
        {
            "transaction_id": frame["transaction_id"].to_numpy(),
            "customer_id": frame["customer_id"].to_numpy(),
            "country": frame["country"].to_numpy(),
        },
        index=frame.index,
    )
    out.insert(2, "invoice_date", frame["invoice_date"])
    for column in FEATURE_COLUMNS:
        out[column] = features[column].to_numpy()
    out["iso_forest_score"] = scores.iso_forest_score
    out["iso_forest_flag"] = scores.iso_forest_flag
    out["autoencoder_mse"] = scores.autoencoder_mse
    out["autoencoder_score"] = scores.autoencoder_score
    out["autoencoder_flag"] = scores.autoencoder_flag
    out["risk_score"] = risk_score(features["zscore"].to_numpy(), scores.autoencoder_score)
    out["anomaly_score"] = scores.anomaly_score
    out["is_flagged"] = scores.is_flagged
    out["is_common_anomaly"] = scores.is_common_anomaly

    display = features[[DISPLAY_SOURCE[name] for name in MODEL_FEATURES]]
    flagged = np.flatnonzero(scores.is_flagged)
    lists = explanations(scores.error_share, display, [DISPLAY_NAMES[name] for name in MODEL_FEATURES], flagged)
    explained = pd.Series(None, index=out.index, dtype=object)
    if lists:
        explained.iloc[flagged] = pd.Series(lists, dtype=object).to_numpy()
    out["explanation"] = explained
    return out
