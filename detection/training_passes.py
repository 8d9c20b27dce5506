"""A training run's two passes over its rows, part by part, so that memory stays flat in data size.

1. Features: `history_feature_parts` gives the point-in-time features of a part of whole customers
   at a time. Each part's rows and features are spilled to a file, its rows of the fit set to
   another, read back once the frame is let go.
   The frame's prepared lines, invoices and item history are computed once, for the priors, this
   pass and the bundle's history state (`TrainingLines`); each part reads its own item figures.
2. Scoring: once the detectors are fitted, each spilled part is read back, scored, explained and
   handed to the caller (to write), then dropped.

The fit set is every sale line up to FIT_SET_ROWS (the real file's 397,884 all count), else a uniform
sample of them plus every sale line with a verdict: the tail detector, the calibrations, the
supervised layer and the thresholds are fitted on it (the forest and autoencoder on a smaller sample
of it, as before). What is held at once: the frame and its prepared lines (pass 1 and the history
state) and one part's features; then the fit set's 16 model inputs and one part's score rows.
"""

from __future__ import annotations

import itertools
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.bulk_load import bulk_load

from .daily_counts import first_write_counts, summed_counts
from .fusion import FIT_INPUT_COLUMNS, FusedDetector
from .history_parts import history_feature_parts
from .history_priors import HistoryPriors, fitted_priors
from .history_rows import HistoryRows
from .history_state import HistoryState, build_history_state
from .history_stats import _prepare_lines
from .item_baselines import ItemHistory
from .kinds import SALE
from .metrics import MetricsTally
from .models import ModelVersion, TransactionScore
from .score_writes import insert_scores
from .scoring import score_features

PART_ROWS = 250_000  # lines per part (a customer with more lines is a part of their own)
FIT_SET_ROWS = 1_000_000  # sale lines the tail detector, calibrations and thresholds are fitted on, at most
FRAME_COLUMNS = ["transaction_id", "customer_id", "invoice_date"]  # of the fit set's rows, for verdicts


@dataclass
class TrainingLines:
    """A training frame's prepared lines (`_prepare_lines`), their invoices and ItemHistory, with the
    priors fitted on them (`fitted_priors`): computed once, read by pass 1 and the history state."""

    lines: pd.DataFrame
    invoices: pd.DataFrame
    items: ItemHistory | None  # let go once the history state has its daily medians
    priors: HistoryPriors

    @classmethod
    def of(cls, frame: pd.DataFrame) -> TrainingLines:
        """Those of `frame` (transactions_frame's columns and `kind`, positions as index)."""
        lines = _prepare_lines(frame)
        priors, items, invoices = fitted_priors(lines)
        return cls(lines=lines, invoices=invoices, items=items, priors=priors)


@dataclass
class SpilledFeatures:
    """Pass 1's result: the files of every part, and the fit set, left in files of its own by pass 1
    until `load_fit_set` reads it (once the frame is let go)."""

    quantity_vs_item: np.ndarray  # of every row of the frame (the scoring bundle keeps it)
    part_files: list[Path]
    fit_files: list[Path] = field(default_factory=list)  # each part's rows of the fit set
    fit_size: int = 0
    fit_features: pd.DataFrame | None = None  # FIT_INPUT_COLUMNS of the fit set's sale lines, in frame order
    fit_frame: pd.DataFrame | None = None  # their FRAME_COLUMNS, same index

    def load_fit_set(self) -> None:
        """Read the fit set back from its files, in frame order; each file is deleted once read."""
        columns: dict[str, np.ndarray] = {}
        places, frames = [], []
        for path in self.fit_files:
            with path.open("rb") as source:
                at, values, rows = pickle.load(source)
            path.unlink()
            for name, column in values.items():
                columns.setdefault(name, np.empty(self.fit_size, dtype=column.dtype))[at] = column
            places.append(at)
            frames.append(rows)
        self.fit_files = []
        self.fit_frame = pd.concat(frames).iloc[np.argsort(np.concatenate(places))]
        self.fit_features = pd.DataFrame(columns, index=self.fit_frame.index)[FIT_INPUT_COLUMNS]

    def release_fit_set(self) -> None:
        """Let the fit set go once the detectors are fitted (empty frames of the same columns)."""
        self.fit_features, self.fit_frame = _emptied(self.fit_features), _emptied(self.fit_frame)


def _emptied(frame: pd.DataFrame) -> pd.DataFrame:
    """An empty frame of `frame`'s columns that holds none of its memory (`iloc[:0]` alone is a view
    that keeps every column's whole array alive)."""
    return frame.iloc[:0].copy()


def fit_set_positions(
    sale: np.ndarray, labelled: np.ndarray, *, seed: int = 0, limit: int = FIT_SET_ROWS
) -> np.ndarray:
    """Ascending positions of the fit set: every sale line when there are at most `limit`, else a
    uniform sample of `limit` of them plus the `labelled` positions that are sale lines."""
    sales = np.flatnonzero(sale)
    if len(sales) <= limit:
        return sales
    sample = np.random.default_rng(seed).choice(sales, size=limit, replace=False)
    return np.union1d(sample, np.asarray(labelled, dtype=np.int64)[sale[labelled]])


def spill_features(
    frame: pd.DataFrame,
    prepared: TrainingLines,
    folder: Path,
    *,
    labelled: np.ndarray,
    seed: int = 0,
    part_rows: int | None = None,
    fit_limit: int | None = None,
) -> SpilledFeatures:
    """Pass 1: compute every row's features part by part, write each part's rows and features to a
    file in `folder`, and its rows of the fit set to another (`SpilledFeatures.load_fit_set`).
    `frame` (one row at least) carries `kind`; `prepared` is its TrainingLines; `labelled`: positions
    of rows with a verdict. `part_rows` and `fit_limit` default to PART_ROWS and FIT_SET_ROWS."""
    part_rows, fit_limit = part_rows or PART_ROWS, fit_limit or FIT_SET_ROWS
    sale = (frame["kind"] == SALE).to_numpy()
    fit_positions = fit_set_positions(sale, labelled, seed=seed, limit=fit_limit)
    in_fit = np.zeros(len(frame), dtype=bool)
    in_fit[fit_positions] = True
    quantity_vs_item = np.full(len(frame), np.nan)
    files, fit_files = [], []
    parts = history_feature_parts(
        frame, prepared.priors, part_rows=part_rows, lines=prepared.lines, items=prepared.items
    )
    for number, (positions, features) in enumerate(parts):
        quantity_vs_item[positions] = features["quantity_vs_item"].to_numpy(np.float64)
        chosen = in_fit[positions]
        if chosen.any():  # the part's fit set rows: their place in it, inputs and frame columns
            fit = (
                np.searchsorted(fit_positions, positions[chosen]),
                {name: features[name].to_numpy()[chosen] for name in FIT_INPUT_COLUMNS},
                frame.iloc[positions[chosen]][FRAME_COLUMNS],
            )
            fit_files.append(_pickled(fit, folder / f"fit-{number:05d}.pickle"))
        files.append(_pickled((frame.iloc[positions], features), folder / f"part-{number:05d}.pickle"))
    return SpilledFeatures(
        quantity_vs_item=quantity_vs_item, part_files=files, fit_files=fit_files, fit_size=len(fit_positions)
    )


def _pickled(value: object, path: Path) -> Path:
    """Write `value` to `path` (pickle); return the path."""
    with path.open("wb") as out:
        pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
    return path


# Prepared lines' columns pass 1 reads and the history state does not (it has the invoices' hours
# and the items' daily medians already): dropped before the state is built.
PASS_ONE_ONLY_COLUMNS = ["hour", "weekday", "day"]


def bundle_history(
    frame: pd.DataFrame, spilled: SpilledFeatures, prepared: TrainingLines
) -> tuple[HistoryRows, HistoryState]:
    """The scoring bundle's training rows and their history state: `frame` with the item index of
    pass 1 added in place (its parts are spilled: no copy of it), which `spilled` lets go. The
    state is built first, from `prepared`'s lines, which are let go before the rows are coded.
    The fit set is still in its files meanwhile (`SpilledFeatures.load_fit_set`)."""
    frame["quantity_vs_item"] = spilled.quantity_vs_item
    spilled.quantity_vs_item = np.zeros(0)
    lines, prepared.lines = prepared.lines, _emptied(prepared.lines)
    invoices, prepared.invoices = prepared.invoices, _emptied(prepared.invoices)
    items, prepared.items = prepared.items, None
    for column in PASS_ONE_ONLY_COLUMNS:
        del lines[column]
    state = build_history_state(frame, lines, invoices=invoices, items=items)
    del lines, invoices, items
    return HistoryRows.from_frame(frame), state


def write_parts(
    version: ModelVersion,
    part_files: list[Path],
    fused: FusedDetector,
    rows: int,
    timings: dict[str, float],
    progress: Callable[[str, float], None],
) -> tuple[dict, pd.DataFrame]:
    """Pass 2 in the caller's transaction: score and insert each part's `rows` in all; return the
    version's metrics and daily counts, summed over the parts. Adds to timings' score_seconds and
    write_seconds. On SQLite, when the rows are at least as many as the table holds, its indexes are
    dropped for the inserts and built once after them (core.bulk_load)."""
    tally, counts = MetricsTally(), []
    parts = scored_parts(part_files, fused)
    with bulk_load(TransactionScore, rows_to_add=rows):
        for number in itertools.count():
            tick = time.perf_counter()
            scores = next(parts, None)
            timings["score_seconds"] += time.perf_counter() - tick
            if scores is None:
                break
            tick = time.perf_counter()
            tally.add(scores)
            counts.append(first_write_counts(scores))
            insert_scores(version, scores)
            del scores
            timings["write_seconds"] += time.perf_counter() - tick
            progress("write", 0.4 + 0.55 * (number + 1) / max(len(part_files), 1))
        tick = time.perf_counter()
    timings["write_seconds"] += time.perf_counter() - tick  # the indexes built again
    return tally.result(), summed_counts(counts)  # one part at least: training needs 50 rows


def scored_parts(part_files: list[Path], fused: FusedDetector) -> Iterator[pd.DataFrame]:
    """Pass 2: the score rows of each spilled part by `fused` (with its numpy exports), one part at a
    time; each part's file is deleted once read."""
    for path in part_files:
        with path.open("rb") as source:
            frame, features = pickle.load(source)
        path.unlink()
        yield score_features(frame, features, fused)
        del frame, features


def labelled_positions(frame: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """Positions in `frame` (ordered by transaction_id) of the rows `labels` has a verdict on."""
    ids = frame["transaction_id"].to_numpy(np.int64)
    if len(ids) == 0 or len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    wanted = labels["transaction_id"].to_numpy(np.int64)
    at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    return np.unique(at[ids[at] == wanted])
