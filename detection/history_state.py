"""The compact point-in-time history of the training rows, per customer and per StockCode, from which
the history features of a few posted rows dated after the training data are computed with numpy.

`history.history_features` judges a posted row against every training row of its customer and of its
StockCode. For a row later than all of them, it reads only: the customer's invoice count, first and
last invoice, invoices per country, the invoices of the 7 days before the last one, the sums of each
invoice's own 1-hour and 24-hour counts (and of the latter's squares), the last LAG_WINDOW invoices (hour,
amount, their sale lines' medians and spreads of quantity, amount and item index), the StockCodes
bought; and the item's last PRICE_LAG_DAYS daily medians (price, log quantity). `HistoryState` holds
exactly these, built with the same helpers, so `features` returns the same figures (tested against
`history_features`). It returns None when a post falls outside what the state can answer (a row not
after its customer's or item's history, a cancellation, a stored invoice number, several invoices of
one customer, ...): the caller then takes the full path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from .fields import HIST_FREQ
from .history import (
    BURST_PRIOR_INVOICES,
    COPIED_COLUMNS,
    HISTORY_COLUMNS,
    HOUR_GLOBAL_MARGIN,
    HOUR_NEIGHBOURS,
    LAG_WINDOW,
    SPIKE_Z,
    line_columns,
)
from .history_priors import HistoryPriors
from .history_stats import (
    LINE_SUMMARIES,
    PRICE_LAG_DAYS,
    PRICE_WINDOW_DAYS,
    PRIOR_WEIGHT,
    WARM_UP_SECONDS,
    _invoices,
    _keys,
    _masked_median,
    _nan_to_num,
    _padded,
    _prepare_lines,
    _robust,
    count_surprise,
    quantity_beyond_habit,
    shrunk_mean,
)
from .item_baselines import ItemHistory, daily_item_medians, item_ratios
from .kinds import CANCELLATION, SALE
from .state_inputs import _find, _tails, _window, renumbered_daily, summaries_in_chunks
from .text_codes import sorted_codes

FORMAT_VERSION = 3  # 2: the usual line from per-invoice summaries; 3: the 24-hour counts' squares
WEEK = 7 * 86400


@dataclass
class HistoryState:
    """Per customer (sorted `customer_ids`) and per StockCode (sorted `stock_codes`) arrays; a `*_start`
    array gives each group's first position in its flat array (one more entry than groups)."""

    customer_ids: np.ndarray  # int64, sorted
    last_seconds: np.ndarray  # the customer's latest training row (any kind)
    events: np.ndarray  # sale invoices
    first_event: np.ndarray
    last_event: np.ndarray
    last_country: np.ndarray  # index into `countries`, -1 for none
    hour_sum: np.ndarray  # sum over the customer's sale invoices of their own 1-hour counts
    day_sum: np.ndarray  # ... 24-hour counts
    day_square_sum: np.ndarray  # the 24-hour counts squared, summed
    recent_keys: np.ndarray  # (customer, seconds) keys of sale invoices within 7 days of the last one
    window_start: np.ndarray  # last LAG_WINDOW sale invoices, per customer:
    window_hour: np.ndarray
    window_amount: np.ndarray  # log1p(sale amount)
    window_quantity_median: np.ndarray  # invoice_line_summaries of the same invoices: log1p(quantity)
    window_quantity_spread: np.ndarray
    window_spent_median: np.ndarray  # log1p(total spent)
    window_spent_spread: np.ndarray
    window_index_median: np.ndarray  # quantity_vs_item (as training gave it)
    window_index_spread: np.ndarray
    countries: np.ndarray  # str, sorted
    country_keys: np.ndarray  # customer position * len(countries) + country, sorted
    country_counts: np.ndarray
    stock_codes: np.ndarray  # str, sorted
    bought_keys: np.ndarray  # customer position * len(stock_codes) + stock, sorted (sale lines)
    daily_start: np.ndarray  # last PRICE_LAG_DAYS selling days, per StockCode:
    daily_day: np.ndarray
    daily_price: np.ndarray  # median unit price of the day
    daily_quantity: np.ndarray  # median log1p(quantity) of the day
    invoice_numbers: np.ndarray  # str, sorted: every training invoice

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"format": np.array(FORMAT_VERSION), **{f.name: getattr(self, f.name) for f in fields(self)}}

    @classmethod
    def from_arrays(cls, arrays) -> HistoryState:
        if int(arrays["format"]) != FORMAT_VERSION:
            raise ValueError(f"history state format {int(arrays['format'])}, expected {FORMAT_VERSION}")
        return cls(**{f.name: arrays[f.name] for f in fields(cls)})

    def features(self, rows: pd.DataFrame, priors: HistoryPriors) -> pd.DataFrame | None:
        """Return `history_features(rows, past=<their training rows>, priors=priors)`, or None when
        the state cannot answer for these rows (see the module docstring)."""
        if rows[["invoice_no", "customer_id"]].drop_duplicates()["customer_id"].duplicated().any():
            return None  # several invoices of one customer (told before the costlier checks)
        lines = _prepare_lines(rows)
        invoices = _invoices(lines)
        customer = _find(self.customer_ids, invoices["customer_id"].to_numpy(np.int64))
        stock = _find(self.stock_codes, lines["stock_code"].to_numpy(str))
        if not self._answerable(lines, invoices, customer, stock):
            return None
        columns = {"invoice_no": invoices.index.to_numpy(), **{name: invoices[name].to_numpy() for name in invoices}}
        features = _features(self, lines, columns, customer, stock, priors)
        features["kind"] = line_columns(lines)["kind"]
        return pd.DataFrame(features, index=lines.index)

    def in_warm_up(self, seconds: np.ndarray) -> bool:
        """Whether any of these invoice times falls in the history's first week (WARM_UP_SECONDS) or
        before it, where burst_warm_up sets burst evidence aside: the full path answers those."""
        has = self.events > 0
        return bool(has.any() and (np.asarray(seconds) - self.first_event[has].min() < WARM_UP_SECONDS).any())

    def _answerable(self, lines, invoices, customer, stock) -> bool:
        if (lines["kind"] == CANCELLATION).any() or invoices["customer_id"].duplicated().any():
            return False
        by_invoice = lines.groupby("invoice_no", sort=False)
        if (by_invoice["customer_id"].nunique() > 1).any() or (by_invoice["seconds"].nunique() > 1).any():
            return False
        if _find(self.invoice_numbers, invoices.index.to_numpy(str)).max() >= 0:
            return False
        known = customer >= 0
        if (invoices["seconds"].to_numpy()[known] <= self.last_seconds[customer[known]]).any():
            return False
        if self.in_warm_up(invoices["seconds"].to_numpy()):
            return False
        days = pd.DataFrame({"stock": lines["stock_code"].to_numpy(), "day": lines["day"].to_numpy()})
        if (days.groupby("stock")["day"].nunique() > 1).any():
            return False
        sold = stock >= 0
        last_day = self.daily_day[np.maximum(self.daily_start[stock[sold] + 1] - 1, 0)]
        has_days = self.daily_start[stock[sold] + 1] > self.daily_start[stock[sold]]
        return not (has_days & (lines["day"].to_numpy()[sold] <= last_day)).any()


def build_history_state(
    history: pd.DataFrame,
    lines: pd.DataFrame | None = None,
    *,
    invoices: pd.DataFrame | None = None,
    items: ItemHistory | None = None,
) -> HistoryState:
    """Return the state of the training rows `history` (transactions_frame columns, kind and
    quantity_vs_item, in training order). When at hand (a training run has them): `lines`, their
    `_prepare_lines`, `invoices`, the `_invoices` of those, and `items`, their ItemHistory with the
    sale lines as history (`fitted_priors`); columns are added to `lines` and `invoices`."""
    lines = _prepare_lines(history) if lines is None else lines
    lines["quantity_vs_item"] = history["quantity_vs_item"].to_numpy(np.float64)
    sale = (lines["kind"] == SALE).to_numpy()
    customer_ids, customer_code = np.unique(lines["customer_id"].to_numpy(np.int64), return_inverse=True)
    n_customers = len(customer_ids)
    last_seconds = np.full(n_customers, np.iinfo(np.int64).min)
    np.maximum.at(last_seconds, customer_code, lines["seconds"].to_numpy())
    # The per-line parts first, each let go once its few arrays are kept: the events' come after.
    stock_codes, line_stock = sorted_codes(lines["stock_code"])
    bought = _pair_keys(customer_code[sale], line_stock[sale], len(stock_codes))
    del customer_code
    daily = _daily_tails(lines, line_stock, sale & (lines["unit_price"].to_numpy() > 0), items, stock_codes)
    del line_stock

    invoices = _invoices(lines) if invoices is None else invoices
    invoices["customer_code"] = np.searchsorted(customer_ids, invoices["customer_id"].to_numpy(np.int64))
    events = invoices[invoices["sale_lines"] > 0]
    keys = _keys(events["customer_code"].to_numpy(), events["seconds"].to_numpy())
    order = np.argsort(keys, kind="stable")
    events, keys = events.iloc[order], keys[order]
    code, seconds = events["customer_code"].to_numpy(), events["seconds"].to_numpy()
    start = _keys(code, np.zeros(len(code), dtype=np.int64))

    def own_counts(span: int) -> np.ndarray:
        return np.searchsorted(keys, keys, "left") - np.searchsorted(keys, np.maximum(keys - span, start), "left")

    hour_counts, day_counts = own_counts(3600), own_counts(86400)
    count = np.bincount(code, minlength=n_customers)
    offsets = np.r_[0, np.cumsum(count)]
    has = count > 0
    last_position = np.maximum(offsets[1:] - 1, 0)
    countries = sorted_codes(lines["country"])[0]
    event_country = np.searchsorted(countries, events["country"].to_numpy(str))
    pair, pair_counts = np.unique(code * len(countries) + event_country, return_counts=True)
    recent = seconds >= np.repeat(seconds[last_position], count) - WEEK if len(seconds) else np.zeros(0, bool)

    window = _tails(code, n_customers)
    summaries = summaries_in_chunks(lines, sale).reindex(events.index)
    window_summaries = {
        f"window_{column}": summaries[column].to_numpy(np.float64)[window[0]]
        for column in (f"{name}_{part}" for name in LINE_SUMMARIES for part in ("median", "spread"))
    }
    del summaries
    return HistoryState(
        customer_ids=customer_ids,
        last_seconds=last_seconds,
        events=count,
        first_event=np.where(has, _padded(seconds)[np.minimum(offsets[:-1], max(len(seconds) - 1, 0))], 0),
        last_event=np.where(has, _padded(seconds)[last_position], 0),
        last_country=np.where(has, _padded(event_country)[last_position], -1),
        hour_sum=np.bincount(code, weights=hour_counts, minlength=n_customers),
        day_sum=np.bincount(code, weights=day_counts, minlength=n_customers),
        day_square_sum=np.bincount(code, weights=day_counts.astype(np.float64) ** 2, minlength=n_customers),
        recent_keys=keys[recent],
        window_start=window[1],
        window_hour=events["hour"].to_numpy()[window[0]],
        window_amount=np.log1p(events["sale_amount"].clip(lower=0).to_numpy())[window[0]],
        **window_summaries,
        countries=countries,
        country_keys=pair,
        country_counts=pair_counts,
        stock_codes=stock_codes,
        bought_keys=bought,
        **daily,
        invoice_numbers=sorted_codes(invoices.index)[0],
    )


def _pair_keys(first: np.ndarray, second: np.ndarray, n_second: int) -> np.ndarray:
    """The sorted distinct `first * n_second + second` (int64), `np.unique`'s result computed in
    `first`'s own array when it is int64 (callers pass a temporary) instead of in two copies."""
    keys = first.astype(np.int64, copy=False)
    keys *= n_second
    keys += second
    keys.sort()
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


def _daily_tails(
    lines: pd.DataFrame, line_stock: np.ndarray, sold: np.ndarray, items: ItemHistory | None, stock_codes: np.ndarray
) -> dict[str, np.ndarray]:
    """The state's daily_* arrays: each item's last PRICE_LAG_DAYS daily medians over the `sold`
    lines (items numbered `line_stock`, by their place in `stock_codes`), from `items` when given."""
    daily = daily_item_medians(lines, line_stock, sold) if items is None else renumbered_daily(items, stock_codes)
    positions, start = _tails(daily["stock"].to_numpy(), len(stock_codes), width=PRICE_LAG_DAYS)
    return {
        "daily_start": start,
        "daily_day": daily["day"].to_numpy()[positions],
        "daily_price": daily["price"].to_numpy()[positions],
        "daily_quantity": daily["log_quantity"].to_numpy()[positions],
    }


def _features(
    state: HistoryState,
    lines: Mapping[str, np.ndarray] | pd.DataFrame,
    invoices: Mapping[str, np.ndarray],
    customer: np.ndarray,
    stock: np.ndarray,
    priors: HistoryPriors,
) -> dict[str, np.ndarray]:
    """history.history_features's figures (HISTORY_COLUMNS, in order) for posted `lines` (one invoice per
    customer, after its history); `invoices` holds `_invoices`' columns and `invoice_no`, as arrays."""
    weight = priors.weight
    known = customer >= 0
    group = np.maximum(customer, 0)
    seconds = np.asarray(invoices["seconds"], dtype=np.int64)
    hours = np.asarray(invoices["hour"], dtype=np.int64)
    earlier = np.where(known, state.events[group], 0)

    def count_since(span: int) -> np.ndarray:
        upper = np.searchsorted(state.recent_keys, _keys(group, seconds), "left")
        lower = np.searchsorted(state.recent_keys, _keys(group, np.maximum(seconds - span, 0)), "left")
        return np.where(known, upper - lower, 0)

    last_hour, last_day, last_week = count_since(3600), count_since(86400), count_since(WEEK)

    def usual(sums: np.ndarray, prior: float | None) -> np.ndarray | None:
        return shrunk_mean(np.where(known, sums[group], 0.0), earlier, prior, BURST_PRIOR_INVOICES)

    usual_hour, usual_day = usual(state.hour_sum, priors.hour_mean), usual(state.day_sum, priors.day_mean)
    burst_surprise = np.maximum(
        count_surprise(last_hour, usual_hour, None),
        count_surprise(last_day, usual_day, usual(state.day_square_sum, priors.day_square_mean)),
    )
    has = earlier > 0
    gap_days = np.where(has, (seconds - state.last_event[group]) / 86400.0, np.nan)
    span_weeks = np.maximum((seconds - np.where(has, state.first_event[group], np.nan)) / float(WEEK), 1.0)
    with np.errstate(invalid="ignore"):
        weekly_rate = np.where(has, earlier / span_weeks, 0.0)

    country = _find(state.countries, np.asarray(invoices["country"], dtype=str))
    earlier_in_country = _pair_count(state, group, country, known)
    previous_code = np.where(has, state.last_country[group], -1)
    previous_country_invoices = _pair_count(state, group, previous_code, has)
    names = np.asarray(state.countries, dtype=object)
    previous_country = np.where(previous_code >= 0, names[np.maximum(previous_code, 0)] if len(names) else None, None)

    positions, valid = _window(state.window_start, customer, LAG_WINDOW)
    prior_share = np.asarray(priors.hour_share)
    distance = np.abs(_padded(state.window_hour)[positions] - hours[:, None])
    near = ((np.minimum(distance, 24 - distance) <= HOUR_NEIGHBOURS) & valid).sum(axis=1)
    hour_share = (near + weight * prior_share[hours]) / (valid.sum(axis=1) + weight)
    center, scale = _robust(
        _padded(state.window_amount)[positions], valid, priors.amount_log_median, priors.amount_log_mad, weight
    )
    invoice_amount = np.asarray(invoices["sale_amount"])
    amount_z = (np.log1p(np.clip(invoice_amount, 0, None)) - center) / scale

    # The customer's usual sale line, from the same invoices' line summaries (history.py does the same).
    (q_center, q_scale), (s_center, s_scale), (i_center, i_scale) = (
        _robust(
            _padded(getattr(state, f"window_{name}_median"))[positions],
            valid,
            prior_median,
            prior_mad,
            weight,
            spread=_padded(getattr(state, f"window_{name}_spread"))[positions],
        )
        for name, prior_median, prior_mad in priors.line_priors()
    )

    position = {number: at for at, number in enumerate(np.asarray(invoices["invoice_no"]).tolist())}
    at = np.array([position[number] for number in np.asarray(lines["invoice_no"]).tolist()], dtype=np.intp)
    quantity = np.asarray(lines["quantity"])
    total_spent = np.asarray(lines["total_spent"])
    item = _item(state, lines, stock, priors.quantity_log_median)
    bought = _find(state.bought_keys, group[at] * len(state.stock_codes) + stock)
    out = {
        "kind": np.asarray(lines["kind"], dtype=object),  # `features` makes it categorical, as line_columns does
        **{name: np.asarray(lines[column]) for name, column in COPIED_COLUMNS.items()},
        HIST_FREQ: earlier[at].astype(np.int64),
        "earlier_in_country": earlier_in_country[at],
        "unusual_destination": ((earlier_in_country == 0) & has)[at],
        "previous_country": previous_country[at],
        "previous_country_invoices": previous_country_invoices[at],
        "days_since_previous": gap_days[at],
        "weekly_rate": weekly_rate[at],
        "invoices_last_hour": last_hour[at],
        "invoices_last_24h": last_day[at],
        "invoices_last_7d": last_week[at],
        "usual_last_hour": usual_hour[at],
        "usual_last_24h": usual_day[at],
        "burst_surprise": burst_surprise[at],
        "invoice_amount": invoice_amount[at],
        "amount_median": np.expm1(center)[at],
        "amount_z": amount_z[at],
        "quantity_median": np.expm1(q_center)[at],
        "quantity_z": (np.sign(quantity) * np.log1p(np.abs(quantity)) - q_center[at]) / q_scale[at],
        "quantity_index_z": (item["quantity_vs_item"] - i_center[at]) / i_scale[at],
        "usual_quantity_vs_item": i_center[at],
        "quantity_beyond_habit": quantity_beyond_habit(item["quantity_vs_item"], i_center[at]),
        "zscore": (np.sign(total_spent) * np.log1p(np.abs(total_spent)) - s_center[at]) / s_scale[at],
        "hour_share": hour_share[at],
        "hour_rarity": np.minimum(
            -np.log(np.clip(hour_share, 1e-6, 1.0)), -np.log(prior_share[hours]) + HOUR_GLOBAL_MARGIN
        )[at],
        "new_stock_code": ~((bought >= 0) & known[at] & (stock >= 0)),
        **item,
    }
    out["quantity_spike"] = out["quantity_z"] > SPIKE_Z
    return {name: out[name] for name in HISTORY_COLUMNS}


def _pair_count(state: HistoryState, group: np.ndarray, country: np.ndarray, use: np.ndarray) -> np.ndarray:
    """The customer's sale invoices in `country` (0 where `use` is False or the country is unknown)."""
    found = _find(state.country_keys, group * len(state.countries) + country)
    return np.where(use & (country >= 0) & (found >= 0), _padded(state.country_counts)[np.maximum(found, 0)], 0)


def _item(
    state: HistoryState, lines: Mapping[str, np.ndarray] | pd.DataFrame, stock: np.ndarray, prior_log_quantity: float
) -> dict:
    """item_baselines._item_baselines for lines whose day is after their item's last selling day."""
    positions, valid = _window(state.daily_start, stock, PRICE_LAG_DAYS)
    day = np.asarray(lines["day"])
    recent = valid & (_padded(state.daily_day)[positions] >= day[:, None] - PRICE_WINDOW_DAYS)
    use = np.where(recent.any(axis=1)[:, None], recent, valid)
    prices = _padded(state.daily_price)[positions]
    days = valid.sum(axis=1)
    item_log_quantity = _nan_to_num(_masked_median(_padded(state.daily_quantity)[positions], valid), nan=0.0)
    share = days / (days + PRIOR_WEIGHT)
    return item_ratios(
        np.asarray(lines["unit_price"]),
        np.asarray(lines["quantity"]),
        baseline=_masked_median(prices, use),
        latest=np.where(valid[:, 0], prices[:, 0], np.nan),
        days=use.sum(axis=1),
        quantity_baseline=np.expm1(share * item_log_quantity + (1 - share) * prior_log_quantity),
    )
