"""Peer detectors from PyOD (ECOD, COPOD, IForest), fitted on the same rows as ours, so the
evaluation can put them side by side. Pure numpy/pandas: fit, score; no ORM, no I/O.

Each peer is fitted twice: on six plain per-line features (what a detector sees without any
history) and on our history matrix (`fusion.history_matrix`), so the table separates what the
features bring from what the detector brings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .features import signed_log1p
from .fields import HIST_FREQ
from .fusion import history_matrix

PEER_NAMES = ("ECOD", "COPOD", "IForest")
PLAIN_FEATURES = [
    "log_quantity",
    "log_unit_price",
    "log_total_spent",
    "transaction_hour",
    "transaction_day",
    "log_" + HIST_FREQ,
]


def plain_matrix(features: pd.DataFrame) -> np.ndarray:
    """Return rows x PLAIN_FEATURES from `history.history_features` output: the line alone, plus how
    many earlier invoices the customer has."""
    return np.column_stack(
        [
            signed_log1p(features["quantity"]),
            np.log1p(features["unit_price"].clip(lower=0).to_numpy(np.float64)),
            signed_log1p(features["total_spent"]),
            features["transaction_hour"].to_numpy(np.float64),
            features["transaction_day"].to_numpy(np.float64),
            np.log1p(features[HIST_FREQ].to_numpy(np.float64)),
        ]
    ).astype(np.float32)


def _make(name: str, *, contamination: float, seed: int):
    if name == "ECOD":
        from pyod.models.ecod import ECOD

        return ECOD(contamination=contamination)
    if name == "COPOD":
        from pyod.models.copod import COPOD

        return COPOD(contamination=contamination)
    if name == "IForest":
        from pyod.models.iforest import IForest

        return IForest(contamination=contamination, random_state=seed, n_jobs=1)
    raise ValueError(f"unknown peer {name!r}")


@dataclass
class Peer:
    """A fitted PyOD model and the input it reads ("plain" or "history")."""

    name: str
    inputs: str
    model: object
    fit_seconds: float

    @property
    def label(self) -> str:
        return f"{self.name}[{self.inputs}]"

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        return plain_matrix(features) if self.inputs == "plain" else history_matrix(features)

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """Return the peer's anomaly score of each row (higher = stranger)."""
        return np.asarray(self.model.decision_function(self.matrix(features)), dtype=np.float64)


def fit_peers(
    features: pd.DataFrame, *, contamination: float = 0.02, seed: int = 0, inputs=("plain", "history")
) -> list[Peer]:
    """Return every peer in PEER_NAMES fitted on `features` (history_features rows) for each input."""
    peers = []
    for source in inputs:
        matrix = plain_matrix(features) if source == "plain" else history_matrix(features)
        for name in PEER_NAMES:
            started = time.perf_counter()
            model = _make(name, contamination=contamination, seed=seed).fit(matrix)
            peers.append(Peer(name=name, inputs=source, model=model, fit_seconds=time.perf_counter() - started))
    return peers
