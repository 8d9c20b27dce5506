"""Summary figures of a scored table, stored on the ModelVersion. Pure pandas/numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd


def training_metrics(scores: pd.DataFrame) -> dict:
    """Return flag counts, overlap and the anomaly_score distribution of a `score_frame` result."""
    rows = len(scores)
    iso = int(scores["iso_forest_flag"].sum())
    autoencoder = int(scores["autoencoder_flag"].sum())
    common = int(scores["is_common_anomaly"].sum())
    counts, edges = np.histogram(scores["anomaly_score"], bins=20, range=(0.0, 1.0))
    quantiles = scores["anomaly_score"].quantile([0.5, 0.9, 0.98, 0.99]).round(4)
    return {
        "rows": rows,
        "customers": int(scores["customer_id"].nunique()),
        "iso_forest_flags": iso,
        "autoencoder_flags": autoencoder,
        "common_anomalies": common,
        "flagged_either": int(scores["is_flagged"].sum()),
        "risk_score_ones": int((scores["risk_score"] > 0).sum()),
        "iso_forest_flag_rate": round(iso / rows, 5) if rows else 0.0,
        "autoencoder_flag_rate": round(autoencoder / rows, 5) if rows else 0.0,
        "overlap_jaccard": round(common / max(1, iso + autoencoder - common), 4),
        "anomaly_score_quantiles": {f"p{int(q * 100)}": float(v) for q, v in quantiles.items()},
        "anomaly_score_histogram": {"edges": edges.round(3).tolist(), "counts": counts.tolist()},
    }
