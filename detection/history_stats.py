"""Building blocks of the point-in-time history: lines and invoices prepared, sorted (group, time)
keys, lag windows, robust medians with priors, Poisson surprise (an item's recent price and quantity
baselines are in `detection.item_baselines`).

Pure numpy/pandas helpers of `detection.history` (see its docstring for the method).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .kinds import SALE, line_kinds

PRIOR_WEIGHT = 3.0  # pseudo-invoices of the global prior blended into each customer's figures
MAD_TO_SIGMA = 1.4826  # MAD x 1.4826 estimates the standard deviation of a normal distribution
MIN_SCALE_SHARE = 0.25  # a customer's scale is at least 1/4 of the global one (3 equal invoices: MAD 0)
PRICE_WINDOW_DAYS = 30  # an item's recent price: its sales in the 30 days before this day
PRICE_LAG_DAYS = 30  # ... else its last 30 selling days, however old (the longer history)
LOCAL_TIME_ZONE = "Europe/London"
WINDOW_CHUNK = 100_000  # rows whose lag-window medians are computed at a time
TIME_SPAN = np.int64(2**34)  # seconds; separates groups in the (group, seconds) sort keys


def _mad(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return 1.0
    return float(np.median(np.abs(values - np.median(values)))) or 1.0


def _epoch_seconds(dates: pd.Series) -> np.ndarray:
    return ((dates.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)


def _local_day(local: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of the local calendar date."""
    naive = local.dt.tz_localize(None).dt.normalize()
    return ((naive - pd.Timestamp(0)) // pd.Timedelta(days=1)).to_numpy(np.int64)


def _keys(groups: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    return groups.astype(np.int64) * TIME_SPAN + seconds.astype(np.int64)


def _lag_window(sorted_keys: np.ndarray, query_keys: np.ndarray, lower_keys: np.ndarray, width: int):
    """Return (positions, valid, count): the last `width` events with lower <= key < query."""
    upper = np.searchsorted(sorted_keys, query_keys, side="left")
    lower = np.searchsorted(sorted_keys, lower_keys, side="left")
    positions = upper[:, None] - np.arange(1, width + 1, dtype=np.int64)[None, :]
    valid = positions >= lower[:, None]
    return np.where(valid, positions, 0), valid, upper - lower


def _padded(values: np.ndarray) -> np.ndarray:
    """`values`, or one zero when empty: lag windows index position 0 (masked out) even with no events."""
    return values if len(values) else np.zeros(1, dtype=values.dtype)


def _poisson_surprise(count: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Return -log P(N >= count) for N ~ Poisson(expected); 0 when count is 0. P is scipy's
    poisson.sf(count - 1), which is pdtrc(count - 1): called directly, without its argument checks."""
    from scipy.special import pdtrc

    count = np.asarray(count)
    tail = pdtrc(np.maximum(count - 1, 0), np.maximum(expected, 1e-9))
    return np.where(count > 0, -np.log(np.clip(tail, 1e-300, 1.0)), 0.0)


def shrunk_mean(total: np.ndarray, count: np.ndarray, prior: float | None, weight: float) -> np.ndarray | None:
    """A customer's mean of a per-invoice figure (`total` over `count` invoices) shrunk toward `prior`
    with `weight` pseudo-invoices; None without a prior (a figure versions saved before did not keep)."""
    return None if prior is None else (total + weight * prior) / (count + weight)


def count_surprise(count: np.ndarray, mean: np.ndarray, square_mean: np.ndarray | None) -> np.ndarray:
    """Return -log P(N >= count) for a count with `mean` and mean square `square_mean`: a negative
    binomial where the variance (square_mean - mean²) exceeds the mean, else Poisson (also without
    `square_mean`). A customer's invoices over 24 hours are overdispersed (busy days come and go): a
    Poisson tail overstates how rare their next busy day is."""
    from scipy.special import betainc

    poisson = _poisson_surprise(count, mean)
    if square_mean is None:
        return poisson
    count = np.asarray(count)
    mean = np.maximum(np.asarray(mean, dtype=np.float64), 1e-9)
    excess = np.asarray(square_mean, dtype=np.float64) - mean**2 - mean  # variance beyond Poisson's
    over = (excess > 1e-9 * mean) & (count > 0)
    if not over.any():
        return poisson
    size = mean[over] ** 2 / excess[over]  # r: variance = mean + mean² / r
    tail = betainc(np.maximum(count[over], 1).astype(np.float64), size, mean[over] / (size + mean[over]))
    out = poisson.copy()
    out[over] = -np.log(np.clip(tail, 1e-300, 1.0))
    return out


def _nan_to_num(values: np.ndarray, **replacements: float) -> np.ndarray:
    """np.nan_to_num(values, **replacements), without its set-up cost when every value is finite (a
    few rows per API request: it is called a dozen times per row), with the same values."""
    values = np.asarray(values)
    if values.dtype.kind == "f" and np.isfinite(values).all():
        return values.copy()
    return np.nan_to_num(values, **replacements)


def _masked_median(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per row, the median of the valid, non-NaN values (NaN for none): np.nanmedian's answer, sorted
    directly (nanmedian takes a slow masked-array path on narrow windows, felt per API request)."""
    if len(values) == 1 and values.dtype == np.float64:
        return _one_row_median(values[0], valid[0])
    keep = valid & ~np.isnan(values)
    count = keep.sum(axis=1)
    if values.shape[1] == 0:
        return np.full(len(values), np.nan)
    data = np.sort(np.where(keep, values, np.nan), axis=1)  # NaN sorts last
    rows = np.arange(len(data))
    low = data[rows, np.maximum(count - 1, 0) // 2]
    high = data[rows, np.minimum(count // 2, data.shape[1] - 1)]
    with np.errstate(invalid="ignore"):
        median = (low + high) / 2
    return np.where(count > 0, median, np.nan)


def _one_row_median(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """`_masked_median` of one row (an API request's): the same two middle values of the same sorted
    ones, averaged as doubles, in half the numpy calls."""
    data = np.sort(values[valid])  # NaN sorts last
    count = len(data) - int(np.isnan(data).sum())
    return np.array([(float(data[(count - 1) // 2]) + float(data[count // 2])) / 2 if count else np.nan])


def _robust(
    values: np.ndarray,
    valid: np.ndarray,
    prior_median: float,
    prior_mad: float,
    weight: float,
    spread: np.ndarray | None = None,
):
    """Return (center, scale): the window's median and MAD shrunk toward the priors.

    With `spread`, each window entry is an invoice summarised by its lines' median (`values`) and
    their median absolute deviation from it (`spread`): the MAD is then that of the invoices' medians
    combined with their usual spread (sqrt(between² + within²)), a spread of lines across invoices."""
    median = _masked_median(values, valid)
    mad = _masked_median(np.abs(values - median[:, None]), valid)
    if spread is not None:
        mad = np.hypot(mad, _masked_median(spread, valid))
    n = valid.sum(axis=1).astype(np.float64)
    share = n / (n + weight)
    center = share * _nan_to_num(median, nan=prior_median) + (1 - share) * prior_median
    scale = share * _nan_to_num(mad, nan=prior_mad) + (1 - share) * prior_mad
    return center, np.maximum(scale, MIN_SCALE_SHARE * prior_mad) * MAD_TO_SIGMA


def _window_robust(
    values: np.ndarray,
    positions: np.ndarray,
    valid: np.ndarray,
    prior_median: float,
    prior_mad: float,
    weight: float,
    spread: np.ndarray | None = None,
):
    """`_robust(values[positions], valid, ..., spread[positions])`, computed WINDOW_CHUNK rows at a time:
    the same figures (each row reads its own window) without the whole (rows x window) matrices at once."""
    parts = [
        _robust(
            values[positions[start : start + WINDOW_CHUNK]],
            valid[start : start + WINDOW_CHUNK],
            prior_median,
            prior_mad,
            weight,
            None if spread is None else spread[positions[start : start + WINDOW_CHUNK]],
        )
        for start in range(0, max(len(positions), 1), WINDOW_CHUNK)
    ]
    return np.concatenate([center for center, _ in parts]), np.concatenate([scale for _, scale in parts])


def _prepare_lines(rows: pd.DataFrame) -> pd.DataFrame:
    local = rows["invoice_date"].dt.tz_convert(LOCAL_TIME_ZONE)
    quantity = rows["quantity"].to_numpy(np.float64)
    unit_price = rows["unit_price"].to_numpy(np.float64)
    kind = rows["kind"] if "kind" in rows else line_kinds(rows)
    return pd.DataFrame(
        {
            "invoice_no": _text(rows["invoice_no"]),
            "stock_code": _text(rows["stock_code"]),
            "customer_id": rows["customer_id"].to_numpy(np.int64),
            "country": _text(rows["country"]),
            # The frame's categorical kind as it is (its codes shared), not an object array per line.
            "kind": kind.array if isinstance(kind.dtype, pd.CategoricalDtype) else np.asarray(kind, dtype=object),
            "quantity": quantity,
            "unit_price": unit_price,
            "total_spent": quantity * unit_price,
            "seconds": _epoch_seconds(rows["invoice_date"]),
            "hour": local.dt.hour.to_numpy(np.int64),
            "weekday": local.dt.day_of_week.to_numpy(np.int64),
            "day": _local_day(local),
        },
        index=rows.index,
        copy=False,  # the columns already of their type are rows' own arrays, not copies
    )


def _text(values: pd.Series) -> np.ndarray:
    """`values.astype(str)` as an array: the column's own array when it holds only str already."""
    array = values.to_numpy()
    if array.dtype == object and pd.api.types.infer_dtype(array, skipna=False) == "string":
        return array
    return values.astype(str).to_numpy()


def quantity_beyond_habit(quantity_vs_item: np.ndarray, usual_quantity_vs_item: np.ndarray) -> np.ndarray:
    """A line's quantity against its item's usual (log ratio), less how far above items' usual the
    customer's lines usually are (their shrunk usual `quantity_vs_item`; nothing is taken off when it
    is at or below 0, or unknown). A wholesaler's usual large line is not evidence; a line far above
    both the item's and the customer's usual is."""
    return np.asarray(quantity_vs_item, dtype=np.float64) - np.maximum(
        _nan_to_num(usual_quantity_vs_item, nan=0.0), 0.0
    )


LINE_SUMMARIES = ("quantity", "spent", "index")  # a customer's usual line, summarised per invoice


def invoice_line_summaries(lines: pd.DataFrame) -> pd.DataFrame:
    """Per invoice of sale `lines` (invoice_no, quantity, total_spent, quantity_vs_item): the median of
    each LINE_SUMMARIES value over its lines ("<name>_median") and the lines' median absolute deviation
    from it ("<name>_spread"). A customer's usual line is read from these over their last invoices,
    so one large order does not fill the window, and its lines count as one observation, not many."""
    values = pd.DataFrame(
        {
            "quantity": np.log1p(lines["quantity"].to_numpy(np.float64)),
            "spent": np.log1p(np.clip(lines["total_spent"].to_numpy(np.float64), 0, None)),
            "index": lines["quantity_vs_item"].to_numpy(np.float64),
        }
    )
    invoice, numbers = pd.factorize(lines["invoice_no"].to_numpy())  # invoices in order of first line
    medians = values.groupby(invoice, sort=True).median()
    values -= medians.to_numpy()[invoice]
    spreads = values.abs().groupby(invoice, sort=True).median()
    summaries = pd.concat([medians.add_suffix("_median"), spreads.add_suffix("_spread")], axis=1)
    summaries.index = pd.Index(numbers, dtype=lines["invoice_no"].dtype)
    return summaries


def _invoices(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per invoice: customer, time, country, hour, sale lines and sale amount."""
    sale = (lines["kind"] == SALE).to_numpy()
    columns = ["invoice_no", "customer_id", "seconds", "country", "hour"]  # not a copy of every column
    grouped = lines[columns].assign(sale_line=sale).groupby("invoice_no", sort=False)
    return pd.DataFrame(
        {
            "customer_id": grouped["customer_id"].first(),
            "seconds": grouped["seconds"].min(),
            "country": grouped["country"].first(),
            "hour": grouped["hour"].first(),
            "sale_lines": grouped["sale_line"].sum(),
            "sale_amount": _sums_in_row_order(lines["invoice_no"], np.where(sale, lines["total_spent"], 0.0)),
        }
    )


def _sums_in_row_order(groups: pd.Series, values: np.ndarray) -> np.ndarray:
    """Per group of `groups` (in order of first appearance, as groupby(sort=False)), the sum of its
    `values` in row order: a group's sum reads its own values only (a grouped sum's last bit can
    change with the other rows at hand), so training's customer parts give the same amounts."""
    codes, uniques = pd.factorize(groups)
    if len(codes) == 0:
        return np.zeros(0)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=len(uniques))
    return np.add.reduceat(np.asarray(values, dtype=np.float64)[order], np.r_[0, np.cumsum(sizes)[:-1]])


# The history's first week: no customer's session habits are known yet (burst_warm_up).
WARM_UP_SECONDS = 7 * 86400


def burst_warm_up(seconds: np.ndarray, history_start: int | None) -> np.ndarray:
    """Invoices whose burst evidence is set aside: those in the history's first week (WARM_UP_SECONDS).

    At the start of the data every customer looks new, though most are established customers whose
    habits precede it: their usual multi-invoice sessions are judged against a day or two of history
    shrunk toward the shop-wide mean. In the real file that gave 12 % of the first week's invoices a
    burst surprise above 5, against 1.4 % over the year; setting aside only each customer's first day
    (in the first 3 days) still left burst evidence leading 73 % of that week's flagged lines, and the
    week at 2.3x the year's flag rate."""
    if history_start is None:
        return np.zeros(len(seconds), dtype=bool)
    return seconds - history_start < WARM_UP_SECONDS


HOUR_NEIGHBOURS = 1  # "usual hours": invoices within +-1 hour of this one
