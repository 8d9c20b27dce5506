"""The supervised layer learnt from analysts' verdicts, and its blend into the fused score. Pure
numpy/scikit-learn: fit, export as arrays, score; no ORM, no I/O.

Inputs: the history model matrix (`fusion.HISTORY_MODEL_FEATURES`) plus the unsupervised scores of
the same row (every tail-detector surprise, the tail detector's and the forest's calibrated
surprise, the fused surprise). Classes: confirmed fraud (1) against false positives and a uniform
sample of unreviewed sale lines (0): the analysts' false positives are too few to show the
classifier what ordinary lines look like, and without them it ranks every line it has not seen
anywhere. Each of the three groups weighs as much as the others together would if it were alone:
confirmed fraud half the total weight, false positives and the background sample a quarter each.

The classifier is scikit-learn's HistGradientBoostingClassifier; its trees are exported as flat
arrays (`TreeArrays`), so a version stores no pickle and serving walks them with numpy. It is
calibrated the way the other detectors are (`tail_detector.Calibrator`: the right-tail probability of its
raw score among the training sale lines), so its surprise -log(tail) is on the fused score's scale.

The blend rule: once there are at least MIN_LABELS_PER_CLASS confirmed frauds and as many false
positives, the fused surprise becomes (1 - BLEND_WEIGHT) x unsupervised + BLEND_WEIGHT x supervised
surprise; below that the layer is not fitted and the fused surprise is the unsupervised one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_LABELS_PER_CLASS = 20
BLEND_WEIGHT = 0.5
BACKGROUND_ROWS = 20_000  # unreviewed sale lines sampled as ordinary examples
RAW_BLOCK_ROWS = 4096  # rows per vectorised walk of the trees
CLASSIFIER_PARAMETERS = {
    "max_iter": 120,
    "learning_rate": 0.1,
    "max_depth": 4,
    "min_samples_leaf": 10,
    "l2_regularization": 1.0,
    "early_stopping": False,
}


def supervised_inputs(matrix: np.ndarray, scored: pd.DataFrame) -> np.ndarray:
    """Return the classifier's input: the history model matrix beside the unsupervised scores of
    `scored` (FusedDetector.score columns, before any blend), float64."""
    surprise = scored[[column for column in scored.columns if column.startswith("surprise_")]].to_numpy(np.float64)
    unsupervised = np.column_stack(
        [
            -np.log(scored["tail_probability"].to_numpy(np.float64)),
            -np.log(scored["iso_forest_tail"].to_numpy(np.float64)),
            scored["fused_surprise"].to_numpy(np.float64),
        ]
    )
    return np.column_stack([np.asarray(matrix, dtype=np.float64), surprise, unsupervised])


@dataclass(frozen=True)
class TreeArrays:
    """Gradient-boosted trees padded into trees x nodes arrays; a leaf points to itself on both sides,
    so walking `depth` steps from the root ends on every row's leaf."""

    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    missing_left: np.ndarray  # bool
    left: np.ndarray  # int64
    right: np.ndarray  # int64
    value: np.ndarray  # float64
    baseline: float
    depth: int

    @classmethod
    def from_classifier(cls, classifier) -> TreeArrays:
        """Export a fitted binary HistGradientBoostingClassifier (numerical features only)."""
        trees = [predictors[0].nodes for predictors in classifier._predictors]
        size = max(len(nodes) for nodes in trees)
        shape = (len(trees), size)
        feature, left, right = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.int64)
        threshold, value = np.zeros(shape), np.zeros(shape)
        missing_left = np.zeros(shape, bool)
        for t, nodes in enumerate(trees):  # one step per tree (about a hundred)
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not exported")
            n = len(nodes)
            own = np.arange(n)
            leaf = nodes["is_leaf"].astype(bool)
            feature[t, :n] = np.where(leaf, 0, nodes["feature_idx"])
            threshold[t, :n] = np.where(leaf, np.inf, nodes["num_threshold"])
            missing_left[t, :n] = nodes["missing_go_to_left"].astype(bool)
            left[t, :n] = np.where(leaf, own, nodes["left"])
            right[t, :n] = np.where(leaf, own, nodes["right"])
            value[t, :n] = nodes["value"]
        depth = max(int(nodes["depth"].max()) for nodes in trees)
        baseline = float(np.ravel(classifier._baseline_prediction)[0])
        return cls(feature, threshold, missing_left, left, right, value, baseline, depth)

    def raw(self, inputs: np.ndarray) -> np.ndarray:
        """Return the classifier's raw score (log-odds of fraud) per row, as `decision_function`
        (to about 1e-14: the trees' values are summed in their order)."""
        inputs = np.asarray(inputs, dtype=np.float64)
        out = np.empty(len(inputs))
        # blocks of rows whose walk stays in the CPU's cache (401,604 rows at once: 5.0 s, in blocks 3.4 s)
        for start in range(0, len(inputs), RAW_BLOCK_ROWS):
            out[start : start + RAW_BLOCK_ROWS] = self._raw_block(inputs[start : start + RAW_BLOCK_ROWS])
        return out

    def _raw_block(self, inputs: np.ndarray) -> np.ndarray:
        columns = np.ascontiguousarray(inputs.T).ravel()
        rows = len(inputs)
        positions = np.arange(rows)
        out = np.full(rows, self.baseline)
        for tree in range(len(self.feature)):  # one vectorised walk per tree (about a hundred)
            feature, threshold = self.feature[tree], self.threshold[tree]
            left, right, missing_left = self.left[tree], self.right[tree], self.missing_left[tree]
            node = np.zeros(rows, np.int64)
            for _ in range(self.depth):
                values = columns[feature[node] * rows + positions]
                go_left = np.where(np.isnan(values), missing_left[node], values <= threshold[node])
                node = np.where(go_left, left[node], right[node])
            out += self.value[tree][node]
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "feature": self.feature,
            "threshold": self.threshold,
            "missing_left": self.missing_left,
            "left": self.left,
            "right": self.right,
            "value": self.value,
            "baseline": np.array(self.baseline),
            "depth": np.array(self.depth),
        }

    @classmethod
    def from_arrays(cls, stored) -> TreeArrays:
        return cls(
            feature=stored["feature"],
            threshold=stored["threshold"],
            missing_left=stored["missing_left"].astype(bool),
            left=stored["left"],
            right=stored["right"],
            value=stored["value"],
            baseline=float(stored["baseline"]),
            depth=int(stored["depth"]),
        )


@dataclass(frozen=True)
class SupervisedLayer:
    """The fitted classifier as arrays, its calibration (sorted raw scores of the training sale
    lines) and the blend weight."""

    trees: TreeArrays
    sorted_scores: np.ndarray
    weight: float = BLEND_WEIGHT

    def surprise(self, raw: np.ndarray) -> np.ndarray:
        """Return -log of the right-tail probability of raw scores among the training lines'."""
        from .tail_detector import right_tail

        return -np.log(right_tail(self.sorted_scores, raw))

    def blend(self, unsupervised: np.ndarray, inputs: np.ndarray, *, raw: np.ndarray | None = None) -> np.ndarray:
        """Return the blended fused surprise (the module's rule); `raw`: the rows' raw scores when known."""
        raw = self.trees.raw(inputs) if raw is None else raw
        return (1.0 - self.weight) * unsupervised + self.weight * self.surprise(raw)


def label_counts(labels: np.ndarray) -> dict[str, int]:
    """Return {"confirmed_fraud": n, "false_positive": n} for 1/0 labels."""
    labels = np.asarray(labels)
    return {"confirmed_fraud": int((labels == 1).sum()), "false_positive": int((labels == 0).sum())}


def enough_labels(labels: np.ndarray) -> bool:
    counts = label_counts(labels)
    return min(counts.values()) >= MIN_LABELS_PER_CLASS


def training_weights(labels: np.ndarray, background: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (classes, sample weights) for the labelled rows (1 fraud / 0 false positive) followed by
    `background` unreviewed rows (class 0): weights 1/2, 1/4, 1/4 of the total per group."""
    labels = np.asarray(labels, dtype=np.int64)
    fraud, dismissed = int((labels == 1).sum()), int((labels == 0).sum())
    weights = np.r_[np.where(labels == 1, 0.5 / max(fraud, 1), 0.25 / max(dismissed, 1)), np.full(background, 0.25)]
    if background:
        weights[len(labels) :] /= background
    classes = np.r_[labels, np.zeros(background, np.int64)]
    return classes, weights * len(classes)  # mean weight 1: min_samples_leaf and l2 keep their meaning


def fit_supervised(
    labelled: np.ndarray,
    labels: np.ndarray,
    background: np.ndarray,
    calibration: np.ndarray,
    *,
    seed: int = 0,
    weight: float = BLEND_WEIGHT,
) -> tuple[SupervisedLayer, np.ndarray]:
    """Fit the classifier on `labelled` inputs (labels 1/0) and `background` inputs (class 0);
    calibrate it on `calibration` (the inputs of every training sale line); return the layer and
    the raw scores of the `calibration` rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    classes, weights = training_weights(labels, len(background))
    classifier = HistGradientBoostingClassifier(**CLASSIFIER_PARAMETERS, random_state=seed)
    classifier.fit(np.vstack([labelled, background]), classes, sample_weight=weights)
    trees = TreeArrays.from_classifier(classifier)
    raw = trees.raw(calibration)
    return SupervisedLayer(trees=trees, sorted_scores=np.sort(raw), weight=weight), raw


def background_sample(candidates: np.ndarray, *, seed: int = 0, size: int = BACKGROUND_ROWS) -> np.ndarray:
    """Return a sorted uniform sample of at most `size` of the positions `candidates`."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(candidates, size=min(size, len(candidates)), replace=False))
