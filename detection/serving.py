"""The fitted scaler, autoencoder and Isolation Forest as plain numpy arrays, and their forward passes.

Exported once when a model version is trained, loaded by serving processes: scoring a row then
needs neither TensorFlow (the autoencoder is a few small matrix products) nor scikit-learn's
per-tree Python loop (the forest's trees are padded into flat arrays and walked for all trees at
once). The files are `.npz` archives read with `allow_pickle=False`, so loading one runs no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

ACTIVATIONS = {
    "relu": lambda values: np.maximum(values, 0.0, dtype=values.dtype),
    "linear": lambda values: values,
}
AUTOENCODER_FILE = "autoencoder_arrays.npz"
FOREST_FILE = "isolation_forest_arrays.npz"
WALK_BLOCK_ROWS = 2048


@dataclass(frozen=True)
class ArrayScaler:
    """StandardScaler.transform: (x - mean) / scale, in place on a copy, keeping float32 input float32.

    The same operations in the same order as scikit-learn, so the results are identical bits.
    """

    mean: np.ndarray
    scale: np.ndarray

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        values = np.array(matrix, copy=True)
        if values.dtype not in (np.float32, np.float64):
            values = values.astype(np.float64)
        values -= self.mean.astype(values.dtype)
        values /= self.scale.astype(values.dtype)
        return values


@dataclass(frozen=True)
class DenseAutoencoder:
    """A stack of dense layers: x @ kernel + bias, then the layer's activation, in float32 as Keras does."""

    kernels: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activations: tuple[str, ...]

    def reconstruct(self, scaled: np.ndarray) -> np.ndarray:
        """Return the autoencoder's output for the (scaled, float32) rows of `scaled`."""
        values = np.asarray(scaled, dtype=np.float32)
        for kernel, bias, activation in zip(self.kernels, self.biases, self.activations, strict=True):
            values = ACTIVATIONS[activation](values @ kernel + bias)
        return values


@dataclass(frozen=True)
class ArrayForest:
    """A fitted IsolationForest's trees padded to one node count and flattened (node = tree x width + local).

    Leaves point to themselves, so every row walks exactly `depth` steps in every tree; `value`
    holds what scikit-learn adds per leaf (its depth plus the average path length of its samples,
    minus one), and `score_samples` returns what IsolationForest.score_samples returns.
    """

    feature: np.ndarray  # the input column each node splits on (0 at leaves)
    threshold: np.ndarray  # float64, as scikit-learn compares them
    left: np.ndarray
    right: np.ndarray
    missing_left: np.ndarray  # where a NaN goes at each node
    value: np.ndarray
    roots: np.ndarray
    depth: int
    denominator: float  # trees x the average path length of max_samples
    n_features: int

    def score_samples(self, scaled: np.ndarray) -> np.ndarray:
        """Return the opposite of each row's anomaly score (lower = stranger), as scikit-learn does."""
        rows = np.asarray(scaled, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {rows.shape}")
        if self.denominator == 0:
            return -np.ones(len(rows))
        depths = np.empty(len(rows))
        # A few thousand rows at a time: the walk's (rows x trees) index arrays then stay in the CPU's
        # cache (all 401,604 rows at once took 12.8 s, in blocks of 2,048 3.9 s) and memory stays small.
        for start in range(0, len(rows), WALK_BLOCK_ROWS):
            depths[start : start + WALK_BLOCK_ROWS] = self._path_lengths(rows[start : start + WALK_BLOCK_ROWS])
        return -(2.0 ** (-depths / self.denominator))

    def _path_lengths(self, rows: np.ndarray) -> np.ndarray:
        """Each row's summed path length over the trees (what scikit-learn's decision paths add up)."""
        flat = np.ascontiguousarray(rows).ravel()
        has_missing = bool(np.isnan(flat).any())
        offsets = (np.arange(len(rows), dtype=np.intp) * rows.shape[1])[:, None]
        nodes = np.broadcast_to(self.roots, (len(rows), len(self.roots)))
        for _ in range(self.depth):
            values = flat[offsets + self.feature[nodes]]
            # float32 inputs against float64 thresholds, compared in float64 as the tree code does
            go_left = values <= self.threshold[nodes]
            if has_missing:
                go_left = np.where(np.isnan(values), self.missing_left[nodes], go_left)
            nodes = np.where(go_left, self.left[nodes], self.right[nodes])
        return self.value[nodes].sum(axis=1)


def export_scaler(scaler) -> ArrayScaler:
    """Return a fitted StandardScaler's mean and scale (scale 1 where scikit-learn uses 1)."""
    if isinstance(scaler, ArrayScaler):
        return scaler
    features = scaler.n_features_in_
    mean = scaler.mean_ if scaler.with_mean else np.zeros(features)
    scale = scaler.scale_ if scaler.with_std else np.ones(features)
    return ArrayScaler(mean=np.asarray(mean, dtype=np.float64), scale=np.asarray(scale, dtype=np.float64))


def export_autoencoder(model) -> DenseAutoencoder:
    """Return the weights of a Keras model made only of Dense layers; raise ValueError on anything else."""
    if isinstance(model, DenseAutoencoder):
        return model
    kernels, biases, activations = [], [], []
    for layer in model.layers:
        name = getattr(getattr(layer, "activation", None), "__name__", None)
        if type(layer).__name__ != "Dense" or name not in ACTIVATIONS or not layer.use_bias:
            raise ValueError(f"layer {layer.name!r} cannot be exported: only Dense layers with relu/linear")
        kernel, bias = layer.get_weights()
        kernels.append(np.asarray(kernel, dtype=np.float32))
        biases.append(np.asarray(bias, dtype=np.float32))
        activations.append(name)
    return DenseAutoencoder(kernels=tuple(kernels), biases=tuple(biases), activations=tuple(activations))


def export_forest(forest) -> ArrayForest:
    """Return a fitted IsolationForest's trees as flat arrays (see ArrayForest)."""
    if isinstance(forest, ArrayForest):
        return forest
    from sklearn.ensemble._iforest import _average_path_length

    trees = [estimator.tree_ for estimator in forest.estimators_]
    width = max(tree.node_count for tree in trees)
    shape = (len(trees), width)
    feature, left, right = np.zeros(shape, np.intp), np.zeros(shape, np.intp), np.zeros(shape, np.intp)
    threshold, value = np.full(shape, np.inf), np.zeros(shape)
    missing_left = np.zeros(shape, bool)
    subsampled = forest._max_features != forest.n_features_in_
    for number, (tree, columns) in enumerate(zip(trees, forest.estimators_features_, strict=True)):
        count, base = tree.node_count, number * width
        local = np.arange(count)
        leaf = tree.children_left == -1
        split_on = np.where(leaf, 0, tree.feature)
        # scikit-learn scores a subsampled tree on X[:, columns]: map its column back to the input's
        feature[number, :count] = np.asarray(columns)[split_on] if subsampled else split_on
        threshold[number, :count] = np.where(leaf, np.inf, tree.threshold)
        left[number, :count] = base + np.where(leaf, local, tree.children_left)
        right[number, :count] = base + np.where(leaf, local, tree.children_right)
        missing_left[number, :count] = np.asarray(tree.missing_go_to_left, dtype=bool)
        value[number, :count] = (
            forest._decision_path_lengths[number] + forest._average_path_length_per_tree[number] - 1.0
        )
    return ArrayForest(
        feature=feature.ravel(),
        threshold=threshold.ravel(),
        left=left.ravel(),
        right=right.ravel(),
        missing_left=missing_left.ravel(),
        value=value.ravel(),
        roots=np.arange(len(trees), dtype=np.intp) * width,
        depth=max(tree.max_depth for tree in trees),
        denominator=float(len(trees) * _average_path_length([forest._max_samples])[0]),
        n_features=int(forest.n_features_in_),
    )


def save_autoencoder(path: Path, scaler: ArrayScaler, autoencoder: DenseAutoencoder) -> None:
    """Write the scaler and the autoencoder's layers to one `.npz` archive."""
    layers = {}
    for number, (kernel, bias) in enumerate(zip(autoencoder.kernels, autoencoder.biases, strict=True)):
        layers[f"kernel_{number}"] = kernel
        layers[f"bias_{number}"] = bias
    np.savez(
        path,
        scaler_mean=scaler.mean,
        scaler_scale=scaler.scale,
        activations=np.asarray(autoencoder.activations),
        **layers,
    )


def load_autoencoder(path: Path) -> tuple[ArrayScaler, DenseAutoencoder]:
    """Read what `save_autoencoder` wrote; raise ValueError on an archive of another shape."""
    with np.load(path, allow_pickle=False) as arrays:
        activations = tuple(str(name) for name in arrays["activations"])
        if not set(activations) <= set(ACTIVATIONS):
            raise ValueError(f"unknown activation in {path.name}: {activations}")
        scaler = ArrayScaler(mean=arrays["scaler_mean"], scale=arrays["scaler_scale"])
        autoencoder = DenseAutoencoder(
            kernels=tuple(arrays[f"kernel_{number}"] for number in range(len(activations))),
            biases=tuple(arrays[f"bias_{number}"] for number in range(len(activations))),
            activations=activations,
        )
    return scaler, autoencoder


# The forest's arrays and the types they are read back as; depth, denominator and n_features are scalars.
FOREST_ARRAYS = {
    "feature": np.intp,
    "threshold": np.float64,
    "left": np.intp,
    "right": np.intp,
    "missing_left": bool,
    "value": np.float64,
    "roots": np.intp,
}
FOREST_SCALARS = {"depth": int, "denominator": float, "n_features": int}


def save_forest(path: Path, forest: ArrayForest) -> None:
    """Write the forest's arrays and scalars to one `.npz` archive."""
    np.savez(path, **{name: np.asarray(getattr(forest, name)) for name in (*FOREST_ARRAYS, *FOREST_SCALARS)})


def load_forest(path: Path) -> ArrayForest:
    """Read what `save_forest` wrote; node indices are checked to stay inside the arrays."""
    with np.load(path, allow_pickle=False) as arrays:
        forest = ArrayForest(
            **{name: arrays[name].astype(kind) for name, kind in FOREST_ARRAYS.items()},
            **{name: kind(arrays[name]) for name, kind in FOREST_SCALARS.items()},
        )
    nodes = len(forest.value)
    for name in ("left", "right", "roots"):
        indices = getattr(forest, name)
        if len(indices) and (indices.min() < 0 or indices.max() >= nodes):
            raise ValueError(f"{path.name}: '{name}' points outside the {nodes} nodes")
    if len(forest.feature) and (forest.feature.min() < 0 or forest.feature.max() >= forest.n_features):
        raise ValueError(f"{path.name}: a split names a column outside the {forest.n_features} features")
    return forest
