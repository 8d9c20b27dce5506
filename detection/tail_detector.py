"""The tail detector: per-feature empirical tail probabilities of the training sale lines (sides
chosen by domain, ECOD-like), joint evidence, and the calibration of any detector's raw score to
its tail probability. Pure numpy/pandas; `fusion` combines it with the forest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .fields import HIST_FREQ

SECOND_WEIGHT = 0.1  # the weight of the tail detector's second-strongest surprise (fusion's docstring)

# The tail detector's evidence: feature -> which tail is strange ("right": large; "both": far from 0).
TAIL_FEATURES = {
    "price_ratio": "both",
    "quantity_beyond_habit": "right",
    "quantity_z": "right",
    "quantity_index_z": "right",
    "zscore": "right",
    "destination_evidence": "right",
    "burst_surprise": "right",
    "hour_rarity": "right",
}
# Joint evidence: a line extreme in all of these at once. Real wholesale orders are large for the
# item but ordinary for their customer (or the reverse); a huge quantity typed by mistake or by a
# fraudster is large on every count. Its raw value is the smallest of the members' surprises.
JOINT_FEATURES = {
    "quantity_for_item_and_amount": ("quantity_beyond_habit", "zscore"),
    "quantity_for_item_and_habit": ("quantity_beyond_habit", "quantity_index_z"),
}
# Evidence of versions saved before quantity_beyond_habit: their stored references and joint members
# name it, and they keep scoring with it.
LEGACY_TAIL_FEATURES = {"quantity_vs_item": "right"}
TAIL_SIDES = {**TAIL_FEATURES, **LEGACY_TAIL_FEATURES}


def _floats(features, name: str) -> np.ndarray:
    return np.asarray(features[name], dtype=np.float64)


def tail_columns(features) -> dict[str, np.ndarray]:
    """Return the tail detector's input columns (TAIL_FEATURES) from `history_features` output (a frame
    or a mapping of arrays).

    destination_evidence: log(1 + earlier invoices) on a first purchase from a country, else 0, so
    a customer with a long history in one country is stronger evidence than one with two invoices.
    quantity_beyond_habit (history_stats.quantity_beyond_habit) replaced quantity_vs_item as evidence
    on its own; versions saved before still read quantity_vs_item.
    """
    return {
        "price_ratio": _floats(features, "price_ratio"),
        "quantity_beyond_habit": _floats(features, "quantity_beyond_habit"),
        "quantity_vs_item": _floats(features, "quantity_vs_item"),
        "quantity_z": _floats(features, "quantity_z"),
        "zscore": _floats(features, "zscore"),
        "quantity_index_z": _floats(features, "quantity_index_z"),
        "destination_evidence": np.where(
            np.asarray(features["unusual_destination"], dtype=bool), np.log1p(_floats(features, HIST_FREQ)), 0.0
        ),
        "burst_surprise": _floats(features, "burst_surprise"),
        "hour_rarity": _floats(features, "hour_rarity"),
    }


def tail_inputs(features: pd.DataFrame) -> pd.DataFrame:
    """`tail_columns` as a frame with the index of `features`."""
    return pd.DataFrame(tail_columns(features), index=features.index)


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

    reference: dict[str, np.ndarray]  # feature (or joint name) -> sorted training values, oriented
    second_weight: float = SECOND_WEIGHT
    joint: dict[str, tuple[str, ...]] | None = None

    @property
    def single_names(self) -> list[str]:
        """The per-feature evidence it was fitted on: TAIL_FEATURES, or a saved version's own set."""
        return [name for name in self.reference if name not in (self.joint or {})]

    @property
    def names(self) -> list[str]:
        return [*self.single_names, *(self.joint or {})]

    @classmethod
    def fit(cls, inputs: pd.DataFrame, *, second_weight: float = SECOND_WEIGHT, joint=None) -> TailDetector:
        joint = JOINT_FEATURES if joint is None else joint
        detector = cls(
            reference={
                name: np.sort(_oriented(np.asarray(inputs[name], dtype=np.float64), side))
                for name, side in TAIL_FEATURES.items()
            },
            second_weight=second_weight,
            joint=dict(joint),
        )
        single = detector._single(inputs)
        for name, members in joint.items():
            detector.reference[name] = np.sort(_joint_raw(single, members))
        return detector

    def _single(self, inputs) -> dict[str, np.ndarray]:
        return {
            name: -np.log(
                right_tail(
                    self.reference[name], _oriented(np.asarray(inputs[name], dtype=np.float64), TAIL_SIDES[name])
                )
            )
            for name in self.single_names
        }

    def surprise(self, inputs) -> np.ndarray:
        """Return rows x `names` of -log tail probabilities (0 = ordinary, ~12.9 = beyond every training row)."""
        single = self._single(inputs)
        joint = [
            -np.log(right_tail(self.reference[name], _joint_raw(single, members)))
            for name, members in (self.joint or {}).items()
        ]
        return np.column_stack([*single.values(), *joint])

    def score(self, inputs: pd.DataFrame) -> np.ndarray:
        surprise = np.sort(self.surprise(inputs), axis=1)
        return surprise[:, -1] + self.second_weight * surprise[:, -2]


def _joint_raw(single: dict[str, np.ndarray], members: tuple[str, ...]) -> np.ndarray:
    return np.min(np.column_stack([single[member] for member in members]), axis=1)


@dataclass
class Calibrator:
    """Maps a detector's raw score to its right-tail probability among the training rows."""

    sorted_scores: np.ndarray
    _thresholds: dict[float, float] = field(default_factory=dict, repr=False, compare=False)  # share -> score

    @classmethod
    def fit(cls, training_scores: np.ndarray) -> Calibrator:
        return cls(sorted_scores=np.sort(np.asarray(training_scores, dtype=np.float64)))

    def tail(self, scores: np.ndarray) -> np.ndarray:
        return right_tail(self.sorted_scores, np.asarray(scores, dtype=np.float64))

    def threshold(self, share: float) -> float:
        """The score above which `share` of the training rows lie (a quantile of ~400k scores: kept)."""
        if share not in self._thresholds:
            self._thresholds[share] = float(np.quantile(self.sorted_scores, 1.0 - share))
        return self._thresholds[share]
