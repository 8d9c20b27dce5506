"""What scoring needs from a training run, and its files: the fused detector, the history priors and
the training rows (the point-in-time history new rows are judged against). Pure numpy/pandas plus
file I/O; no ORM.

Artifacts, each recorded as {path, sha256} on the ModelVersion and verified on load: the seed's
four (scaler, forest, autoencoder, quantiles: `estimators.Detector.save`), `fusion` (the tail
detector's sorted training values, the calibrations and the fused threshold, as .npz), `priors`
(.json), `history` (the training rows' columns, as .npz) and `history_state` (their compact
per-customer and per-StockCode history, `history_state.HistoryState`, as .npz; a version saved
without it builds it on load); with analysts' verdicts, `supervised` (the classifier's trees as
arrays and its calibration: supervised.py) and `feedback` (the verdicts: feedback.py), as .npz.
No pickled objects anywhere.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ArtifactError
from .estimators import Detector, file_sha256, verified_path
from .feedback import Feedback
from .fusion import LEGACY_CORROBORATION_WEIGHT, FusedDetector
from .history_priors import HistoryPriors
from .history_state import FORMAT_VERSION as STATE_FORMAT_VERSION
from .history_state import HistoryState, build_history_state
from .history_stats import LOCAL_TIME_ZONE, PRICE_LAG_DAYS, _local_day
from .kinds import SALE
from .supervised import SupervisedLayer, TreeArrays
from .tail_detector import Calibrator, TailDetector

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
HISTORY_COLUMNS = [
    "transaction_id",
    "invoice_no",
    "stock_code",
    "quantity",
    "unit_price",
    "customer_id",
    "country",
    "quantity_vs_item",  # the line's item index at training (history.history_features reuses it)
]


@dataclass
class ScoringBundle:
    """A fitted FusedDetector, its HistoryPriors, the training rows (transactions_frame columns, kind
    and quantity_vs_item) and their HistoryState (built from them when not given)."""

    fused: FusedDetector
    priors: HistoryPriors
    history: pd.DataFrame = field(repr=False)
    state: HistoryState | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.state is None:
            self.state = build_history_state(self.history)

    @cached_property
    def _by_customer(self) -> dict[int, np.ndarray]:
        return self.history.groupby("customer_id", sort=False).indices

    @cached_property
    def _by_stock_code(self) -> dict[str, np.ndarray]:
        return self.history.groupby("stock_code", sort=False).indices

    @cached_property
    def _days(self) -> np.ndarray:
        """The local day of each training row."""
        return _local_day(self.history["invoice_date"].dt.tz_convert(LOCAL_TIME_ZONE))

    @cached_property
    def _selling_days(self) -> dict[str, np.ndarray]:
        """Per StockCode, the sorted local days with a sale line at a positive price."""
        history = self.history
        sold = (history["kind"] == SALE).to_numpy() & (history["unit_price"].to_numpy() > 0)
        days = pd.DataFrame({"stock": history["stock_code"].to_numpy()[sold], "day": self._days[sold]})
        return {code: np.unique(group.to_numpy()) for code, group in days.groupby("stock", sort=False)["day"]}

    @cached_property
    def _invoice_numbers(self) -> set[str]:
        return set(self.history["invoice_no"])

    def past_for(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Return the training rows `history_features` needs to judge `rows`: every row of their
        customers, and the rows of their StockCodes from the PRICE_LAG_DAYS selling days before each
        code's first posted day on (an item's baseline reads no earlier day), less the rows of the
        invoices being scored (a posted copy of a stored invoice is judged as the stored one was,
        never against itself)."""
        invoices = set(rows["invoice_no"].astype(str))
        # Each excluded stored invoice may remove a selling day or two from a window: keep as many more.
        margin = PRICE_LAG_DAYS + 2 * len(invoices & self._invoice_numbers)
        parts = [self._by_customer.get(int(customer)) for customer in pd.unique(rows["customer_id"])]
        first_days = (
            pd.Series(_local_day(rows["invoice_date"].dt.tz_convert(LOCAL_TIME_ZONE)))
            .groupby(rows["stock_code"].astype(str).to_numpy())
            .min()
        )
        for code, first_day in first_days.items():
            positions = self._by_stock_code.get(code)
            days = self._selling_days.get(code)
            if positions is not None and days is not None:
                earlier = int(np.searchsorted(days, first_day, "left"))
                if earlier > margin:
                    positions = positions[self._days[positions] >= days[earlier - margin]]
            parts.append(positions)
        chosen = np.zeros(len(self.history), dtype=bool)  # np.unique's sorted positions, without its sort
        for part in parts:
            if part is not None:
                chosen[part] = True
        past = self.history.iloc[np.flatnonzero(chosen)]
        return past[~past["invoice_no"].isin(invoices)]


def save_bundle(bundle: ScoringBundle, folder: Path) -> dict[str, dict[str, str]]:
    """Write every artifact to `folder`; return {name: {path, sha256}}."""
    fused = bundle.fused
    artifacts = fused.models.save(folder)
    paths = {
        "fusion": folder / "fusion.npz",
        "priors": folder / "priors.json",
        "history": folder / "history.npz",
        "history_state": folder / "history_state.npz",
    }
    arrays = {f"tail__{name}": values for name, values in fused.tail.reference.items()}
    arrays.update({f"calibration__{name}": c.sorted_scores for name, c in fused.calibrators.items()})
    settings = {
        "format": FORMAT_VERSION,
        "second_weight": fused.tail.second_weight,
        "joint": {name: list(members) for name, members in (fused.tail.joint or {}).items()},
        "fused_threshold": fused.fused_threshold,
        "contamination": fused.contamination,
        "weights": fused.weights,
        "corroboration": fused.corroboration,
    }
    np.savez(paths["fusion"], settings=np.array(json.dumps(settings)), **arrays)
    paths["priors"].write_text(json.dumps(bundle.priors.to_dict()))
    history = bundle.history
    np.savez(
        paths["history"],
        **{column: _plain(history[column]) for column in HISTORY_COLUMNS},
        kind=history["kind"].astype(str).to_numpy(str),
        seconds=_seconds(history["invoice_date"]),
    )
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
        reference = {key.removeprefix("tail__"): stored[key] for key in stored.files if key.startswith("tail__")}
        calibrators = {
            key.removeprefix("calibration__"): Calibrator(sorted_scores=stored[key])
            for key in stored.files
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
    with np.load(verified_path(artifacts, "history"), allow_pickle=False) as stored:
        history = pd.DataFrame({column: stored[column] for column in HISTORY_COLUMNS})
        for column in ("invoice_no", "stock_code", "country"):
            history[column] = history[column].astype(object)
        history["invoice_date"] = pd.to_datetime(stored["seconds"], unit="s", utc=True)
        history["kind"] = stored["kind"].astype(object)
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
    return ScoringBundle(fused=fused, priors=priors, history=history, state=state)


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


def _plain(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy()
    return values.astype(str).to_numpy(str)


def _seconds(dates: pd.Series) -> np.ndarray:
    return ((dates.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
