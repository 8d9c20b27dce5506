"""Training's point-in-time features in parts of whole customers, so that the 37 feature columns of
every line never exist at once.

A line's item figures read every customer's lines of its StockCode: they are computed once over all
lines (six columns). Its customer figures read only that customer's own lines
(`history.customer_features`), so they are computed part by part, each part a set of whole
customers of about `part_rows` lines. The figures are the ones `history_features` gives the whole
frame (tests/detection/test_training_parts.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from .history import customer_features
from .history_priors import HistoryPriors
from .history_stats import _prepare_lines
from .item_baselines import ItemHistory, item_figures, item_history
from .kinds import SALE, line_kinds

CODE_CHUNK_ROWS = 1_000_000  # rows whose customer is looked up at a time


def customer_parts(customer_ids: np.ndarray, part_rows: int) -> Iterator[np.ndarray]:
    """Split row positions into parts of whole customers, in customer order, each about `part_rows`
    rows (a part closes once it holds `part_rows`); positions ascend within a part. Yields each
    part's positions in turn: only each row's part number (int32) is held between them."""
    customer_ids = np.asarray(customer_ids)
    if len(customer_ids) == 0:
        return
    customers = np.sort(pd.unique(customer_ids))  # hashed: no sorted copy of every row's id

    def customer_codes() -> Iterator[np.ndarray]:  # each row's place in `customers`, CODE_CHUNK_ROWS at a time
        for start in range(0, len(customer_ids), CODE_CHUNK_ROWS):
            yield np.searchsorted(customers, customer_ids[start : start + CODE_CHUNK_ROWS])

    counts = sum(np.bincount(codes, minlength=len(customers)) for codes in customer_codes())
    starts = np.cumsum(counts) - counts  # rows of earlier customers
    _, part_of_customer = np.unique(starts // max(part_rows, 1), return_inverse=True)  # parts 0, 1, ...
    part_of_customer = part_of_customer.astype(np.int32)
    part_of_row = np.concatenate([part_of_customer[codes] for codes in customer_codes()])
    for part in range(int(part_of_customer.max()) + 1):
        yield np.flatnonzero(part_of_row == part)


def history_feature_parts(
    frame: pd.DataFrame,
    priors: HistoryPriors,
    *,
    part_rows: int,
    lines: pd.DataFrame | None = None,
    items: ItemHistory | None = None,
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """Yield (row positions in `frame`, `history_features(frame, priors=priors)` of those rows) part
    by part, every line once: the features of each part have `frame`'s index labels of its rows.

    `lines` (`_prepare_lines` of `frame`, positions as index) and `items` (their ItemHistory with
    the sale lines as history, `fitted_priors`) are computed here unless given; each part's item
    figures are read from `items`, so those of every line never exist at once."""
    if lines is None:
        columns = ["invoice_no", "stock_code", "quantity", "unit_price", "invoice_date", "customer_id", "country"]
        rows = frame[columns].reset_index(drop=True)
        rows["kind"] = frame["kind"].to_numpy() if "kind" in frame else line_kinds(rows).to_numpy()
        lines = _prepare_lines(rows)
        del rows
    known = (lines["kind"] == SALE).to_numpy()  # every sale line is history
    if items is None:
        items = item_history(lines, known, priors.quantity_log_median)
    history_start = priors.history_start
    if history_start is None:  # priors saved without it: the earliest history line at hand
        history_start = int(lines["seconds"].to_numpy()[known].min()) if known.any() else None
    for positions in customer_parts(lines["customer_id"].to_numpy(), part_rows):
        features = customer_features(
            lines.iloc[positions],
            known[positions],
            item_figures(items, lines, positions),
            priors,
            history_start,
        )
        features.index = frame.index[positions]
        yield positions, features
