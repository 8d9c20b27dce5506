"""The global figures a customer with little history is shrunk toward, fitted on the training rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .history_stats import (
    HOUR_NEIGHBOURS,
    PRIOR_WEIGHT,
    _invoices,
    _keys,
    _mad,
    _prepare_lines,
)
from .item_baselines import ItemHistory, item_figures, item_history
from .kinds import SALE

INDEX_CHUNK = 250_000  # sale lines whose item figures are computed at a time for the priors


@dataclass(frozen=True)
class HistoryPriors:
    """Global figures a customer with little history is shrunk toward (fitted on training rows)."""

    hour_share: tuple[float, ...]  # 24 local hours: share of sale invoices within +-1 hour
    amount_log_median: float  # log1p(invoice sale amount)
    amount_log_mad: float
    quantity_log_median: float  # log1p(line quantity), sale lines
    quantity_log_mad: float
    spent_log_median: float  # log1p(line total), sale lines
    spent_log_mad: float
    index_log_mad: float  # quantity_vs_item of sale lines: how far a customer strays from items' usual
    hour_mean: float  # mean earlier invoices of the same customer in the hour before a sale invoice
    day_mean: float  # ... in the 24 hours before
    weight: float = PRIOR_WEIGHT
    # The training rows' first sale line (epoch seconds): where burst_warm_up's first week starts, for
    # every row judged against them. None (versions saved before it): the rows at hand give it.
    history_start: int | None = None
    # The mean square of the 24-hour counts (their spread across invoices). None (versions saved before
    # it): burst evidence over 24 hours is a Poisson tail, as over one hour.
    day_square_mean: float | None = None

    def line_priors(self) -> tuple[tuple[str, float, float], ...]:
        """(LINE_SUMMARIES name, prior median, prior MAD) of a customer's usual sale line."""
        return (
            ("quantity", self.quantity_log_median, self.quantity_log_mad),
            ("spent", self.spent_log_median, self.spent_log_mad),
            ("index", 0.0, self.index_log_mad),
        )

    def to_dict(self) -> dict:
        return {
            "hour_share": list(self.hour_share),
            "amount_log_median": self.amount_log_median,
            "amount_log_mad": self.amount_log_mad,
            "quantity_log_median": self.quantity_log_median,
            "quantity_log_mad": self.quantity_log_mad,
            "spent_log_median": self.spent_log_median,
            "spent_log_mad": self.spent_log_mad,
            "index_log_mad": self.index_log_mad,
            "hour_mean": self.hour_mean,
            "day_mean": self.day_mean,
            "weight": self.weight,
            "history_start": self.history_start,
            "day_square_mean": self.day_square_mean,
        }

    @classmethod
    def from_dict(cls, data: dict) -> HistoryPriors:
        return cls(**{**data, "hour_share": tuple(data["hour_share"])})


def fit_priors(rows: pd.DataFrame) -> HistoryPriors:
    """Return the global priors of `rows` (their sale lines and sale invoices)."""
    return fitted_priors(_prepare_lines(rows))[0]


def fitted_priors(lines: pd.DataFrame) -> tuple[HistoryPriors, ItemHistory, pd.DataFrame]:
    """`fit_priors` of prepared `lines` (`_prepare_lines`), with what it reads them from: the
    ItemHistory of the lines (the sale lines as history, the priors' usual quantity), whose item
    figures are those `history_features` gives the lines, and their `_invoices` (a training run
    computes both once)."""
    is_sale = (lines["kind"] == SALE).to_numpy()
    invoices = _invoices(lines)
    sale_invoices = invoices[invoices["sale_lines"] > 0]
    counts = np.bincount(sale_invoices["hour"].to_numpy(), minlength=24).astype(np.float64)
    near = sum(np.roll(counts, shift) for shift in range(-HOUR_NEIGHBOURS, HOUR_NEIGHBOURS + 1))
    # Half an invoice per hour keeps a never-seen hour from having probability zero.
    share = (near + 0.5) / (counts.sum() + 12.0)
    amount = np.log1p(sale_invoices["sale_amount"].clip(lower=0).to_numpy())
    quantity = np.log1p(lines["quantity"].to_numpy(np.float64)[is_sale])
    spent = np.log1p(np.clip(lines["total_spent"].to_numpy(np.float64)[is_sale], 0, None))
    sale_seconds = lines["seconds"].to_numpy()[is_sale]
    items = item_history(lines, is_sale, float(np.median(quantity)) if len(quantity) else 0.0)
    sales = np.flatnonzero(is_sale)  # their item index, INDEX_CHUNK lines at a time
    index = np.concatenate(
        [np.zeros(0)]
        + [
            item_figures(items, lines, sales[start : start + INDEX_CHUNK])["quantity_vs_item"]
            for start in range(0, len(sales), INDEX_CHUNK)
        ]
    )
    codes, _ = pd.factorize(sale_invoices["customer_id"])
    keys = np.sort(_keys(codes, sale_invoices["seconds"].to_numpy()))
    starts = _keys(codes, np.zeros(len(codes), dtype=np.int64))
    queries = _keys(codes, sale_invoices["seconds"].to_numpy())

    def counts_since(seconds: int) -> np.ndarray:
        before = np.searchsorted(keys, queries, "left")
        return (before - np.searchsorted(keys, np.maximum(queries - seconds, starts), "left")).astype(np.float64)

    def mean(values: np.ndarray) -> float:
        return float(values.mean()) if len(values) else 0.0

    hour, day = counts_since(3600), counts_since(86400)

    priors = HistoryPriors(
        hour_share=tuple(float(v) for v in np.minimum(share, 1.0)),
        amount_log_median=float(np.median(amount)) if len(amount) else 0.0,
        amount_log_mad=_mad(amount),
        quantity_log_median=float(np.median(quantity)) if len(quantity) else 0.0,
        quantity_log_mad=_mad(quantity),
        spent_log_median=float(np.median(spent)) if len(spent) else 0.0,
        spent_log_mad=_mad(spent),
        index_log_mad=_mad(index),
        hour_mean=mean(hour),
        day_mean=mean(day),
        history_start=int(sale_seconds.min()) if len(sale_seconds) else None,
        day_square_mean=mean(day**2),
    )
    return priors, items, invoices
