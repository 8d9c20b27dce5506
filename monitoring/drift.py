"""Population stability index: how far a feature's distribution among new rows moved from training.

PSI = sum over bins of (new share - training share) x ln(new share / training share), the bins being
the training values' deciles (fewer for a feature with few distinct values: a 0/1 flag gets two).
Usual reading, used here: below 0.1 stable, 0.1 to 0.25 moderate shift, above 0.25 retraining due.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

STABLE_BELOW = 0.1
RETRAIN_ABOVE = 0.25
BINS = 10
# An empty bin's share: keeps ln() finite; a bin empty on both sides adds nothing.
EMPTY_SHARE = 1e-4


def psi(training: np.ndarray, new: np.ndarray, *, bins: int = BINS) -> float:
    """The PSI of `new` against `training` over the training values' quantile bins; NaN if either is empty."""
    training = np.asarray(training, dtype=float)
    new = np.asarray(new, dtype=float)
    training, new = training[~np.isnan(training)], new[~np.isnan(new)]
    if not len(training) or not len(new):
        return float("nan")
    edges = np.unique(np.quantile(training, np.linspace(0, 1, bins + 1)[1:-1]))
    # bin i holds edges[i-1] < x <= edges[i]: one bin per distinct value of a discrete feature
    expected = np.bincount(np.searchsorted(edges, training), minlength=len(edges) + 1) / len(training)
    actual = np.bincount(np.searchsorted(edges, new), minlength=len(edges) + 1) / len(new)
    expected, actual = np.maximum(expected, EMPTY_SHARE), np.maximum(actual, EMPTY_SHARE)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def band(value: float) -> str:
    """ "stable", "moderate" or "retrain" for a PSI value; "unknown" for NaN."""
    if value != value:
        return "unknown"
    if value < STABLE_BELOW:
        return "stable"
    return "moderate" if value <= RETRAIN_ABOVE else "retrain"


def psi_table(training: pd.DataFrame, new: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """One row per column: feature, psi and band, the largest shift first."""
    values = [psi(training[column].to_numpy(), new[column].to_numpy()) for column in columns]
    table = pd.DataFrame({"feature": list(columns), "psi": values})
    table["band"] = table["psi"].map(band)
    return table.sort_values("psi", ascending=False, na_position="last").reset_index(drop=True)
