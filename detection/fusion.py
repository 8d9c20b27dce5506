"""The history model matrix, a per-feature tail detector, and the fusion of detectors into one
score. Pure numpy/pandas: fit, score; no ORM, no I/O.

Why this fusion (measured on the real file, planted anomalies of seven kinds, three seeds; see
`bench/detection_quality.py`): FUSION_NOTE below holds the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .features import signed_log1p

Z_CLIP = 20.0  # robust z-scores beyond +-20 carry no more information and flatten the scaled matrix

# The model input built from `history.history_features`, in order.
HISTORY_MODEL_FEATURES = [
    "log_quantity",
    "log_unit_price",
    "log_total_spent",
    "price_ratio",
    "quantity_vs_item",
    "quantity_z",
    "quantity_index_z",
    "zscore",
    "log_hist_freq",
    "unusual_destination",
    "log_invoices_last_hour",
    "burst_surprise",
    "log_days_since_previous",
    "hour_rarity",
    "new_stock_code",
]

# The tail detector's evidence: feature -> which tail is strange ("right": large; "both": far from 0).
TAIL_FEATURES = {
    "price_ratio": "both",
    "quantity_vs_item": "right",
    "quantity_z": "right",
    "quantity_index_z": "right",
    "zscore": "right",
    "destination_evidence": "right",
    "burst_surprise": "right",
    "hour_rarity": "right",
}


def history_matrix(features: pd.DataFrame) -> np.ndarray:
    """Return the model input (rows x HISTORY_MODEL_FEATURES) from `history_features` output, float32."""
    gap = features["days_since_previous"].fillna(30.0).to_numpy(np.float64)
    columns = {
        "log_quantity": signed_log1p(features["quantity"]),
        "log_unit_price": np.log1p(features["unit_price"].clip(lower=0).to_numpy(np.float64)),
        "log_total_spent": signed_log1p(features["total_spent"]),
        "price_ratio": features["price_ratio"].to_numpy(np.float64),
        "quantity_vs_item": features["quantity_vs_item"].to_numpy(np.float64),
        "quantity_z": np.clip(features["quantity_z"].to_numpy(np.float64), -Z_CLIP, Z_CLIP),
        "zscore": np.clip(features["zscore"].to_numpy(np.float64), -Z_CLIP, Z_CLIP),
        "quantity_index_z": np.clip(features["quantity_index_z"].to_numpy(np.float64), -Z_CLIP, Z_CLIP),
        "log_hist_freq": np.log1p(features["hist_freq"].to_numpy(np.float64)),
        "unusual_destination": features["unusual_destination"].to_numpy(np.float64),
        "log_invoices_last_hour": np.log1p(features["invoices_last_hour"].to_numpy(np.float64)),
        "burst_surprise": np.clip(features["burst_surprise"].to_numpy(np.float64), 0, 50),
        "log_days_since_previous": np.log1p(gap),
        "hour_rarity": features["hour_rarity"].to_numpy(np.float64),
        "new_stock_code": features["new_stock_code"].to_numpy(np.float64),
    }
    return np.column_stack([columns[name] for name in HISTORY_MODEL_FEATURES]).astype(np.float32)


def tail_inputs(features: pd.DataFrame) -> pd.DataFrame:
    """Return the tail detector's input columns (TAIL_FEATURES) from `history_features` output.

    destination_evidence: log(1 + earlier invoices) on a first purchase from a country, else 0, so
    a customer with a long history in one country is stronger evidence than one with two invoices.
    """
    return pd.DataFrame(
        {
            "price_ratio": features["price_ratio"].to_numpy(np.float64),
            "quantity_vs_item": features["quantity_vs_item"].to_numpy(np.float64),
            "quantity_z": features["quantity_z"].to_numpy(np.float64),
            "zscore": features["zscore"].to_numpy(np.float64),
            "quantity_index_z": features["quantity_index_z"].to_numpy(np.float64),
            "destination_evidence": np.where(
                features["unusual_destination"].to_numpy(bool),
                np.log1p(features["hist_freq"].to_numpy(np.float64)),
                0.0,
            ),
            "burst_surprise": features["burst_surprise"].to_numpy(np.float64),
            "hour_rarity": features["hour_rarity"].to_numpy(np.float64),
        },
        index=features.index,
    )


def _oriented(values: np.ndarray, side: str) -> np.ndarray:
    return np.abs(values) if side == "both" else values


def right_tail(sorted_reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return P(X >= value) under the sorted reference sample, with +1 smoothing (never 0)."""
    n = len(sorted_reference)
    at_least = n - np.searchsorted(sorted_reference, values, side="left")
    return (at_least + 1.0) / (n + 1.0)


@dataclass
class TailDetector:
    """Per-feature empirical tail probabilities of the training rows (ECOD-like, sides chosen by domain).

    Its score is -log of the smallest per-feature tail probability: one extreme feature is enough,
    and a row strange in several features ranks above one strange in a single feature through the
    tie-break of the second smallest (added at 1/10 weight).
    """

    reference: dict[str, np.ndarray]  # feature -> sorted training values, oriented

    @classmethod
    def fit(cls, inputs: pd.DataFrame) -> TailDetector:
        return cls(
            reference={
                name: np.sort(_oriented(inputs[name].to_numpy(np.float64), side))
                for name, side in TAIL_FEATURES.items()
            }
        )

    def surprise(self, inputs: pd.DataFrame) -> np.ndarray:
        """Return rows x TAIL_FEATURES of -log tail probabilities (0 = ordinary, ~12 = unseen)."""
        return np.column_stack(
            [
                -np.log(right_tail(self.reference[name], _oriented(inputs[name].to_numpy(np.float64), side)))
                for name, side in TAIL_FEATURES.items()
            ]
        )

    def score(self, inputs: pd.DataFrame) -> np.ndarray:
        surprise = np.sort(self.surprise(inputs), axis=1)
        return surprise[:, -1] + 0.1 * surprise[:, -2]


@dataclass
class Calibrator:
    """Maps a detector's raw score to its right-tail probability among the training rows."""

    sorted_scores: np.ndarray

    @classmethod
    def fit(cls, training_scores: np.ndarray) -> Calibrator:
        return cls(sorted_scores=np.sort(np.asarray(training_scores, dtype=np.float64)))

    def tail(self, scores: np.ndarray) -> np.ndarray:
        return right_tail(self.sorted_scores, np.asarray(scores, dtype=np.float64))

    def threshold(self, share: float) -> float:
        """The score above which `share` of the training rows lie."""
        return float(np.quantile(self.sorted_scores, 1.0 - share))


def fuse(tails: dict[str, np.ndarray], *, method: str = "min_tail") -> np.ndarray:
    """Return one score per row (higher = stranger) from each detector's tail probability.

    mean_rank: mean of (1 - tail), the seed's averaging; min_tail: -log of the smallest tail
    probability (= max of calibrated ranks), Bonferroni-style; fisher: -sum log tail.
    """
    stacked = np.column_stack(list(tails.values()))
    if method == "mean_rank":
        return (1.0 - stacked).mean(axis=1)
    if method == "min_tail":
        ordered = np.sort(-np.log(stacked), axis=1)
        return ordered[:, -1] + 0.01 * ordered[:, :-1].sum(axis=1)
    if method == "fisher":
        return -np.log(stacked).sum(axis=1)
    raise ValueError(f"unknown fusion method {method!r}")
