"""An item's recent price and quantity baselines (its daily medians over earlier selling days), and
a line's figures against them: for every line at once (`_item_baselines`) or any subset of the
lines an ItemHistory was built from (`item_figures`), as training's customer parts read them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .history_stats import (
    PRICE_LAG_DAYS,
    PRICE_WINDOW_DAYS,
    PRIOR_WEIGHT,
    TIME_SPAN,
    _keys,
    _lag_window,
    _masked_median,
    _nan_to_num,
    _padded,
)

ITEM_QUERY_CHUNK = 100_000  # (item, day) queries whose price windows are computed at a time
MEDIAN_CHUNK_LINES = 1_000_000  # sold lines whose daily medians are computed at a time (whole items)


def daily_item_medians(lines: pd.DataFrame, stock: np.ndarray, sold: np.ndarray) -> pd.DataFrame:
    """Median price and log quantity per (item number `stock`, day) over the `sold` lines, sorted.

    Grouped by one (item, day) key rather than two columns, and for items of about
    MEDIAN_CHUNK_LINES sold lines at a time: a group's medians read its own lines only, so the
    medians are the same, with a fraction of the working memory (a training run's millions of lines)."""
    day, price, quantity = lines["day"].to_numpy(), lines["unit_price"].to_numpy(), lines["quantity"].to_numpy()
    lines_per_item = np.bincount(stock[sold], minlength=int(stock.max(initial=-1)) + 1)
    chunk_of_item = (np.cumsum(lines_per_item) - lines_per_item) // MEDIAN_CHUNK_LINES
    ends = np.r_[np.flatnonzero(np.diff(chunk_of_item)) + 1, len(chunk_of_item)]
    parts = [
        _daily_medians(stock[mine], day[mine], price[mine], quantity[mine])
        for first, last in zip(np.r_[0, ends[:-1]], ends, strict=True)
        for mine in [np.flatnonzero(sold & (stock >= first) & (stock < last))]
    ]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)  # one part at least


def _daily_medians(stock: np.ndarray, day: np.ndarray, price: np.ndarray, quantity: np.ndarray) -> pd.DataFrame:
    """`daily_item_medians` of the given sold lines' columns."""
    keys = _keys(stock, day)
    codes, groups = pd.factorize(keys, sort=True)
    del keys
    medians = (
        pd.DataFrame({"price": np.asarray(price, dtype=np.float64), "log_quantity": np.log1p(quantity)})
        .groupby(codes, sort=True)
        .median()
    )
    item = (groups + TIME_SPAN // 2) // TIME_SPAN  # keys are item x TIME_SPAN + day, |day| < TIME_SPAN / 2
    return pd.DataFrame(
        {
            "stock": item.astype(np.int64),
            "day": (groups - item * TIME_SPAN).astype(np.int64),
            "price": medians["price"].to_numpy(),
            "log_quantity": medians["log_quantity"].to_numpy(),
        }
    )


def _item_windows(
    daily: pd.DataFrame, daily_keys: np.ndarray, stock: np.ndarray, day: np.ndarray, prior_log_quantity: float
) -> dict[str, np.ndarray]:
    """The item baselines of the (item number `stock`, `day`) queries from the `daily` medians before each day."""
    positions, valid, _ = _lag_window(
        daily_keys, _keys(stock, day), _keys(stock, np.zeros(len(stock), dtype=np.int64)), PRICE_LAG_DAYS
    )
    daily_day = _padded(daily["day"].to_numpy())
    recent = valid & (daily_day[positions] >= day[:, None] - PRICE_WINDOW_DAYS)
    use = np.where(recent.any(axis=1)[:, None], recent, valid)
    prices = _padded(daily["price"].to_numpy())[positions]
    # An item's usual quantity is shrunk toward the global one by its selling days (a new item has none).
    days = valid.sum(axis=1)
    daily_quantity = _padded(daily["log_quantity"].to_numpy())
    item_log_quantity = np.nan_to_num(_masked_median(daily_quantity[positions], valid), nan=0.0)
    share = days / (days + PRIOR_WEIGHT)
    return {
        "item_price_baseline": _masked_median(prices, use),
        "item_price_latest": np.where(valid[:, 0], prices[:, 0], np.nan),
        "item_price_days": use.sum(axis=1),
        "item_quantity_baseline": np.expm1(share * item_log_quantity + (1 - share) * prior_log_quantity),
    }


@dataclass
class ItemHistory:
    """Every item's daily medians over the history's sold lines (`daily_item_medians`, sorted by item
    and day) and each line's item number: any lines' item figures read these (`item_figures`)."""

    stock_code: np.ndarray  # each line's item number: pd.factorize of its StockCode ...
    stock_names: np.ndarray  # ... and the StockCode of each number
    daily: pd.DataFrame
    daily_keys: np.ndarray
    prior_log_quantity: float


def item_history(lines: pd.DataFrame, sale: np.ndarray, prior_log_quantity: float) -> ItemHistory:
    """The ItemHistory of `lines` with the `sale` lines as history (those with a positive price)."""
    stock_code, stock_names = pd.factorize(lines["stock_code"])
    sold = sale & (lines["unit_price"].to_numpy() > 0)
    daily = daily_item_medians(lines, stock_code, sold)
    daily_keys = _keys(daily["stock"].to_numpy(), daily["day"].to_numpy())
    return ItemHistory(stock_code, np.asarray(stock_names), daily, daily_keys, prior_log_quantity)


def _item_baselines(
    lines: pd.DataFrame, sale: np.ndarray, prior_log_quantity: float, needed: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per line: the item's recent median price and quantity from earlier days, and the line's log ratios.
    With `needed` (a mask), only those lines are computed (the same figures; NaN, 0 days elsewhere).

    Daily medians per StockCode (sale lines with a positive price); a line's baseline is the median
    of its item's daily medians over the PRICE_WINDOW_DAYS days before its day, else over the item's
    last PRICE_LAG_DAYS selling days however old; NaN (ratio 0) for an item never sold before. The
    usual quantity (median of daily median log quantities, last PRICE_LAG_DAYS selling days) is shrunk
    toward `prior_log_quantity`, so a first sale of 500 of a new item still stands out.
    price_ratio is the log ratio to that median or to the latest selling day's median, whichever is
    smaller: the week after a price-list change (December 2011) is not an alert storm.
    """
    result = item_figures(
        item_history(lines, sale, prior_log_quantity), lines, slice(None) if needed is None else needed
    )
    if needed is None:
        return result
    spread = {
        name: np.zeros(len(needed), values.dtype) if values.dtype.kind == "i" else np.full(len(needed), np.nan)
        for name, values in result.items()
    }
    for name, values in result.items():
        spread[name][needed] = values
    return spread


def item_figures(items: ItemHistory, lines: pd.DataFrame, asked: np.ndarray | slice) -> dict[str, np.ndarray]:
    """`_item_baselines`' figures of `lines[asked]` (a mask, positions or a slice of every line that
    `items` was built from): each line's figures read its item's days before its own, so any subset
    of lines gets the figures it has among all of them."""
    stock_code, day = items.stock_code[asked], lines["day"].to_numpy()[asked]
    # One query per (item, day); each line takes its query's figures by position (no merge: a
    # merge's copies of every line's columns were the largest transient of a training run).
    _, first, query_of_line = np.unique(_keys(stock_code, day), return_index=True, return_inverse=True)
    query_stock, query_day = stock_code[first], day[first]
    del first
    # Each query's figures read its own window only: computed ITEM_QUERY_CHUNK queries at a time,
    # so the (queries x PRICE_LAG_DAYS) matrices of a large frame never exist whole.
    parts = [
        _item_windows(
            items.daily,
            items.daily_keys,
            query_stock[start : start + ITEM_QUERY_CHUNK],
            query_day[start : start + ITEM_QUERY_CHUNK],
            items.prior_log_quantity,
        )
        for start in range(0, max(len(query_stock), 1), ITEM_QUERY_CHUNK)
    ]
    per_line = {name: np.concatenate([part[name] for part in parts])[query_of_line.ravel()] for name in parts[0]}
    del parts, query_of_line
    return item_ratios(
        lines["unit_price"].to_numpy()[asked],
        lines["quantity"].to_numpy()[asked],
        baseline=per_line["item_price_baseline"],
        latest=per_line["item_price_latest"],
        days=per_line["item_price_days"],
        quantity_baseline=per_line["item_quantity_baseline"],
    )


def item_ratios(
    price: np.ndarray,
    quantity: np.ndarray,
    *,
    baseline: np.ndarray,
    latest: np.ndarray,
    days: np.ndarray,
    quantity_baseline: np.ndarray,
) -> dict[str, np.ndarray]:
    """The item figures of lines (their `price` and `quantity`) from their item's baselines: the
    baselines themselves and the line's log ratios to them (see `_item_baselines`)."""
    price = np.clip(np.asarray(price), 1e-3, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        against_median = np.log(price / baseline)
        against_latest = np.log(price / latest)
        # A price that matches the item's latest selling day is a price change already seen, not news.
        price_ratio = np.where(np.abs(against_latest) < np.abs(against_median), against_latest, against_median)
        quantity_vs_item = np.log1p(np.abs(np.asarray(quantity))) - np.log1p(quantity_baseline)
    return {
        "item_price_baseline": baseline,
        "item_price_days": np.asarray(days).astype(np.int64),
        "item_price_latest": latest,
        "price_ratio": _nan_to_num(price_ratio, nan=0.0, posinf=0.0, neginf=0.0),
        "item_quantity_baseline": quantity_baseline,
        "quantity_vs_item": _nan_to_num(quantity_vs_item, nan=0.0),
    }
