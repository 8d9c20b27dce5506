"""Summary figures of a scored table, stored on the ModelVersion. Pure pandas/numpy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Each counted figure and the score column whose true values it counts.
COUNTED_COLUMNS = {
    "iso_forest_flags": "iso_forest_flag",
    "autoencoder_flags": "autoencoder_flag",
    "common_anomalies": "is_common_anomaly",
    "flagged_either": "is_flagged",
}


def training_metrics(scores: pd.DataFrame) -> dict:
    """Return flag counts, overlap and the anomaly_score distribution of a `score_frame` result."""
    tally = MetricsTally()
    tally.add(scores)
    return tally.result()


@dataclass
class MetricsTally:
    """`training_metrics` of score rows given a frame at a time (a training run's parts). The
    frames must not share customers: each one's customers are counted as its own."""

    rows: int = 0
    customers: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys([*COUNTED_COLUMNS, "risk_score_ones"], 0))
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(20, dtype=np.int64))
    anomaly_scores: list[np.ndarray] = field(default_factory=list)

    def add(self, scores: pd.DataFrame) -> None:
        """Count the rows of `scores`."""
        self.rows += len(scores)
        self.customers += int(scores["customer_id"].nunique())
        for name, column in COUNTED_COLUMNS.items():
            self.counts[name] += int(scores[column].sum())
        self.counts["risk_score_ones"] += int((scores["risk_score"] > 0).sum())
        values = scores["anomaly_score"].to_numpy(np.float64, copy=True)
        self.histogram += np.histogram(values, bins=20, range=(0.0, 1.0))[0]
        self.anomaly_scores.append(values)

    def result(self) -> dict:
        """The figures of every row added so far."""
        rows, iso, autoencoder = self.rows, self.counts["iso_forest_flags"], self.counts["autoencoder_flags"]
        common = self.counts["common_anomalies"]
        values = pd.Series(np.concatenate(self.anomaly_scores) if self.anomaly_scores else np.zeros(0))
        quantiles = values.quantile([0.5, 0.9, 0.98, 0.99]).round(4)
        edges = np.histogram_bin_edges(np.zeros(0), bins=20, range=(0.0, 1.0))
        return {
            "rows": rows,
            "customers": self.customers,
            "iso_forest_flags": iso,
            "autoencoder_flags": autoencoder,
            "common_anomalies": common,
            "flagged_either": self.counts["flagged_either"],
            "risk_score_ones": self.counts["risk_score_ones"],
            "iso_forest_flag_rate": round(iso / rows, 5) if rows else 0.0,
            "autoencoder_flag_rate": round(autoencoder / rows, 5) if rows else 0.0,
            "overlap_jaccard": round(common / max(1, iso + autoencoder - common), 4),
            "anomaly_score_quantiles": {f"p{int(q * 100)}": float(v) for q, v in quantiles.items()},
            "anomaly_score_histogram": {"edges": edges.round(3).tolist(), "counts": self.histogram.tolist()},
        }
