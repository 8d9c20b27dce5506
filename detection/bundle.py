"""What scoring needs from a training run, and its files: the fused detector, the history priors and
the training rows (the point-in-time history new rows are judged against). Pure numpy/pandas plus
file I/O; no ORM.

Artifacts, each recorded as {path, sha256} on the ModelVersion and verified on load: the seed's
four (scaler, forest, autoencoder, quantiles: `estimators.Detector.save`), `fusion` (the fused
detector's settings, as .npz), `priors` (.json), the tail detector's sorted training values and the
calibrations (`fusion.<name>`), the training rows and their indexes (`history.<name>`,
history_rows.HistoryRows), one uncompressed .npy file each, memory-mapped read-only on load
(mapped_arrays.py), and `history_state` (their compact per-customer and per-StockCode history,
`history_state.HistoryState`, as .npz; a version saved without it builds it on load); with
analysts' verdicts, `supervised` (the classifier's trees as arrays and its calibration:
supervised.py) and `feedback` (the verdicts: feedback.py), as .npz. Versions of format 1 (saved
before 30 Nov 2026) kept the fusion arrays in `fusion.npz` and the training rows in `history.npz`:
both are read whole, and the rows' indexes built in memory (bundle_format.py rewrites them).
No pickled objects anywhere.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ArtifactError
from .estimators import Detector, file_sha256, verified_path
from .feedback import Feedback
from .fusion import LEGACY_CORROBORATION_WEIGHT, FusedDetector
from .history_priors import HistoryPriors
from .history_rows import SAVED_COLUMNS, HistoryRows
from .history_state import FORMAT_VERSION as STATE_FORMAT_VERSION
from .history_state import HistoryState, build_history_state
from .mapped_arrays import load_arrays, save_arrays
from .supervised import SupervisedLayer, TreeArrays
from .tail_detector import Calibrator, TailDetector

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: the fusion arrays and the training rows as memory-mapped .npy files


class ScoringBundle:
    """A fitted FusedDetector, its HistoryPriors, the training rows and their HistoryState (built
    from the rows when not given). The rows come as a frame (`history`: transactions_frame columns,
    kind and quantity_vs_item, from a training run) or as HistoryRows (`rows`, from a saved version);
    each is built from the other when first asked for (serving asks for neither whole)."""

    def __init__(
        self,
        fused: FusedDetector,
        priors: HistoryPriors,
        history: pd.DataFrame | None = None,
        state: HistoryState | None = None,
        rows: HistoryRows | None = None,
    ) -> None:
        if history is None and rows is None:
            raise ValueError("a scoring bundle needs its training rows (history or rows)")
        self.fused = fused
        self.priors = priors
        self._history = history
        self._rows = rows
        if state is None:
            state = build_history_state(self.history)
            if rows is not None:
                self._history = None  # the frame was built for the state only
        self.state = state

    @property
    def history(self) -> pd.DataFrame:
        """Every training row as a frame (HistoryRows.frame for a loaded version: tests and tools)."""
        if self._history is None:
            self._history = self.rows.frame()
        return self._history

    @property
    def rows(self) -> HistoryRows:
        """The training rows as saved, with their indexes."""
        if self._rows is None:
            self._rows = HistoryRows.from_frame(self._history)
        return self._rows

    def past_for(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The training rows `history_features` needs to judge `rows` (HistoryRows.past_for)."""
        return self.rows.past_for(rows)


def fusion_arrays(fused: FusedDetector) -> dict[str, np.ndarray]:
    """The fused detector's arrays by the names they are saved under: the tail detector's sorted
    training values (`tail__<name>`) and the calibrations (`calibration__<name>`)."""
    arrays = {f"tail__{name}": values for name, values in fused.tail.reference.items()}
    arrays.update({f"calibration__{name}": c.sorted_scores for name, c in fused.calibrators.items()})
    return arrays


def save_bundle(bundle: ScoringBundle, folder: Path) -> dict[str, dict[str, str]]:
    """Write every artifact to `folder`; return {name: {path, sha256}}."""
    fused = bundle.fused
    artifacts = fused.models.save(folder)
    paths = {
        "fusion": folder / "fusion.npz",
        "priors": folder / "priors.json",
        "history_state": folder / "history_state.npz",
    }
    arrays = fusion_arrays(fused)
    artifacts.update(save_arrays(arrays, folder, "fusion"))
    artifacts.update(save_arrays(bundle.rows.to_arrays(), folder, "history"))
    settings = {
        "format": FORMAT_VERSION,
        "arrays": list(arrays),
        "second_weight": fused.tail.second_weight,
        "joint": {name: list(members) for name, members in (fused.tail.joint or {}).items()},
        "fused_threshold": fused.fused_threshold,
        "contamination": fused.contamination,
        "weights": fused.weights,
        "corroboration": fused.corroboration,
    }
    np.savez(paths["fusion"], settings=np.array(json.dumps(settings)))
    paths["priors"].write_text(json.dumps(bundle.priors.to_dict()))
    np.savez(paths["history_state"], **bundle.state.to_arrays())
    if fused.supervised is not None:
        paths["supervised"] = folder / "supervised.npz"
        np.savez(
            paths["supervised"],
            sorted_scores=fused.supervised.sorted_scores,
            weight=np.array(fused.supervised.weight),
            **{f"tree__{name}": values for name, values in fused.supervised.trees.to_arrays().items()},
        )
    if fused.feedback is not None:
        paths["feedback"] = folder / "feedback.npz"
        np.savez(paths["feedback"], **fused.feedback.to_arrays())
    artifacts.update({name: {"path": str(path), "sha256": file_sha256(path)} for name, path in paths.items()})
    return artifacts


def load_bundle(artifacts: dict[str, dict[str, str]]) -> ScoringBundle:
    """Load a bundle from recorded artifacts; raise ArtifactError when a file is missing or changed."""
    models = Detector.load(artifacts)
    with np.load(verified_path(artifacts, "fusion"), allow_pickle=False) as stored:
        settings = json.loads(str(stored["settings"]))
        mapped = settings.get("format", 1) >= 2
        if mapped:
            arrays = load_arrays(artifacts, "fusion", settings["arrays"])
        else:  # format 1: the arrays beside the settings
            arrays = {key: stored[key] for key in stored.files if key != "settings"}
    reference = {key.removeprefix("tail__"): values for key, values in arrays.items() if key.startswith("tail__")}
    calibrators = {
        key.removeprefix("calibration__"): Calibrator(sorted_scores=values)
        for key, values in arrays.items()
        if key.startswith("calibration__")
    }
    tail = TailDetector(
        reference=reference,
        second_weight=settings["second_weight"],
        joint={name: tuple(members) for name, members in settings["joint"].items()},
    )
    fused = FusedDetector(
        models=models,
        tail=tail,
        calibrators=calibrators,
        fused_threshold=settings["fused_threshold"],
        contamination=settings["contamination"],
        weights=settings.get("weights", {}),  # versions saved before the weights fused with 1 each
        corroboration=settings.get("corroboration", LEGACY_CORROBORATION_WEIGHT),
        supervised=_load_supervised(artifacts),
        feedback=_load_feedback(artifacts),
    )
    priors = HistoryPriors.from_dict(json.loads(verified_path(artifacts, "priors").read_text()))
    if mapped:
        try:
            rows = HistoryRows.from_arrays(load_arrays(artifacts, "history", HistoryRows.array_names()))
        except ValueError as exc:
            raise ArtifactError(f"history rows cannot be read: {exc}") from exc
    else:
        with np.load(verified_path(artifacts, "history"), allow_pickle=False) as stored:
            rows = HistoryRows.from_columns({column: stored[column] for column in SAVED_COLUMNS})
    state = None
    if "history_state" in artifacts:
        with np.load(verified_path(artifacts, "history_state"), allow_pickle=False) as stored:
            if "format" in stored and int(stored["format"]) < STATE_FORMAT_VERSION:
                # Saved by an earlier release in another layout: rebuilt from the stored history rows
                # (ScoringBundle.__post_init__), as for a version saved without one.
                logger.info(
                    "history state format %s is older than %s: rebuilt from the history rows",
                    int(stored["format"]),
                    STATE_FORMAT_VERSION,
                )
            else:
                try:
                    state = HistoryState.from_arrays(stored)
                except (KeyError, ValueError) as exc:
                    raise ArtifactError(f"history state cannot be read: {exc}") from exc
    return ScoringBundle(fused=fused, priors=priors, state=state, rows=rows)


def _load_supervised(artifacts: dict[str, dict[str, str]]) -> SupervisedLayer | None:
    if "supervised" not in artifacts:
        return None
    with np.load(verified_path(artifacts, "supervised"), allow_pickle=False) as stored:
        trees = TreeArrays.from_arrays({key.removeprefix("tree__"): stored[key] for key in stored.files})
        return SupervisedLayer(trees=trees, sorted_scores=stored["sorted_scores"], weight=float(stored["weight"]))


def _load_feedback(artifacts: dict[str, dict[str, str]]) -> Feedback | None:
    if "feedback" not in artifacts:
        return None
    with np.load(verified_path(artifacts, "feedback"), allow_pickle=False) as stored:
        return Feedback.from_arrays(stored)
