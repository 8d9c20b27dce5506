"""The history state's array helpers (tails of sorted groups, lookups, windows), and its inputs
computed with bounded working memory from a training run's lines: the per-invoice line summaries a
part of the invoices at a time, and the items' daily medians taken from the run's ItemHistory
instead of grouped again."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .history import LAG_WINDOW
from .history_stats import invoice_line_summaries
from .item_baselines import ItemHistory

SUMMARY_CHUNK_LINES = 250_000  # lines whose invoices are summarised at a time
SUMMARY_COLUMNS = ["invoice_no", "quantity", "total_spent", "quantity_vs_item"]


def summaries_in_chunks(lines: pd.DataFrame, rows: np.ndarray, chunk_lines: int = SUMMARY_CHUNK_LINES) -> pd.DataFrame:
    """`invoice_line_summaries(lines[rows][SUMMARY_COLUMNS])` (`rows`: a mask), computed for the
    invoices of about `chunk_lines` lines at a time: an invoice's figures read its own lines only, and
    the invoices come in the same order (of their first line)."""
    positions = np.flatnonzero(rows)
    if len(positions) <= chunk_lines:
        return invoice_line_summaries(lines[SUMMARY_COLUMNS].iloc[positions])
    invoice, _ = pd.factorize(lines["invoice_no"].to_numpy()[positions])
    lines_of_invoice = np.bincount(invoice)
    lines_before = np.cumsum(lines_of_invoice) - lines_of_invoice
    chunk_of_invoice = lines_before // chunk_lines
    parts = []
    for chunk in range(int(chunk_of_invoice[-1]) + 1):
        first, last = np.searchsorted(chunk_of_invoice, [chunk, chunk + 1])
        mine = positions[(invoice >= first) & (invoice < last)]
        parts.append(invoice_line_summaries(lines[SUMMARY_COLUMNS].iloc[mine]))
    return pd.concat(parts)


def renumbered_daily(items: ItemHistory, stock_codes: np.ndarray) -> pd.DataFrame:
    """`items.daily` with each item numbered by its place in the sorted `stock_codes` (every line's),
    sorted by that number and day: `daily_item_medians` of the same sold lines numbered so."""
    renumber = np.searchsorted(stock_codes, np.asarray(items.stock_names, dtype=object).astype(str))
    daily = items.daily.assign(stock=renumber[items.daily["stock"].to_numpy()].astype(np.int64))
    return daily.iloc[np.lexsort((daily["day"].to_numpy(), daily["stock"].to_numpy()))].reset_index(drop=True)


def _tails(groups: np.ndarray, n_groups: int, width: int = LAG_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """For positions sorted by group: (the positions of each group's last `width`, their group starts)."""
    count = np.bincount(groups, minlength=n_groups)
    end = np.cumsum(count)
    rank_from_end = end[groups] - np.arange(len(groups)) if len(groups) else np.zeros(0, np.int64)
    keep = np.flatnonzero(rank_from_end <= width)
    return keep, np.r_[0, np.cumsum(np.minimum(count, width))]


def _find(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's position in `sorted_values`, -1 when absent."""
    if len(sorted_values) == 0:
        return np.full(len(values), -1)
    position = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return np.where(sorted_values[position] == values, position, -1)


def _window(start: np.ndarray, group: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, valid) of the last `width` entries of each group (-1 = none), newest first."""
    known = group >= 0
    upper = np.where(known, start[np.maximum(group, 0) + 1], 0)
    lower = np.where(known, start[np.maximum(group, 0)], 0)
    positions = upper[:, None] - np.arange(1, width + 1, dtype=np.int64)[None, :]
    valid = positions >= lower[:, None]
    return np.where(valid, positions, 0), valid
