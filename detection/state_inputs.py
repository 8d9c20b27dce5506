"""Inputs of the history state computed with bounded working memory from a training run's lines:
the per-invoice line summaries a part of the invoices at a time, and the items' daily medians taken
from the run's ItemHistory instead of grouped again."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .history_stats import ItemHistory, invoice_line_summaries

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
    lines_before = np.cumsum(np.bincount(invoice)) - np.bincount(invoice)
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
