"""Point-in-time behavioural features: every figure about a line comes from what was known strictly
before its invoice. Pure pandas/numpy: DataFrame in, DataFrame out; no ORM, no I/O.

One function serves training and real-time scoring: `history_features(rows, past=stored_rows,
priors=priors)` computes the features of `rows` against `past` (and against earlier rows of
`rows` itself); training computes the same figures in parts of whole customers (history_parts.py).
Because nothing ever looks at its own invoice or later ones, a row scored alone against stored
history gets exactly the figures it gets inside a batch.

How "strictly before" is done without per-row loops: invoices (and sale lines) are sorted on a key
(customer code, seconds since the epoch); `np.searchsorted(keys, key, "left")` counts the events
strictly before a time, and positions p-1 ... p-W give the last W of them (a "lag window") so medians
and MADs are taken over small fixed-width matrices. Lines of one invoice share its time, so they
share one history and never count one another.

Cold start: a customer's medians, MADs and hour shares are shrunk toward global priors with weight
n / (n + PRIOR_WEIGHT), n = earlier invoices in the window, so a customer's first invoices look
like an ordinary customer, not like outliers. A customer's usual sale line comes from the same
invoice window, each invoice summarised by its lines' median and spread (`invoice_line_summaries`):
one earlier order of 16 lines is one observation, and a large order does not fill the window.

`past` must hold every stored row of the customers in `rows` and of the StockCodes in `rows`
(the windows only read the last LAG_WINDOW events, but the counts read all of them), with its
`quantity_vs_item` from training when it is such a slice of the training rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fields import HIST_FREQ
from .history_priors import HistoryPriors, fit_priors
from .history_stats import (
    HOUR_NEIGHBOURS,
    _invoices,
    _keys,
    _lag_window,
    _padded,
    _prepare_lines,
    _window_robust,
    burst_warm_up,
    count_surprise,
    invoice_line_summaries,
    quantity_beyond_habit,
    shrunk_mean,
)
from .item_baselines import _item_baselines
from .kinds import CANCELLATION, NON_PRODUCT, SALE

LAG_WINDOW = 50  # a customer's robust statistics use their last 50 earlier invoices / sale lines
SPIKE_Z = 3.5  # QuantitySpike: robust z of the line's quantity against the customer's past lines
HOUR_GLOBAL_MARGIN = 1.0  # hour_rarity is at most the hour's global rarity + 1 (a factor e)
BURST_PRIOR_INVOICES = 10.0  # a customer's usual burst size counts 10 invoices at the global mean (3: bursts of new
# customers hide better, 0.66 vs 0.82 of planted bursts in the top 2 %; 1: worse still)
NEUTRAL_GAP_DAYS = 30.0  # days since the previous invoice, in the model matrix, for a customer with none

# The columns compared with the stock code's own price and quantity history.
ITEM_COLUMNS = [
    "item_price_baseline",
    "item_price_latest",
    "item_price_days",
    "price_ratio",
    "item_quantity_baseline",
    "quantity_vs_item",
]
HISTORY_COLUMNS = [
    "kind",
    "country",
    "quantity",
    "unit_price",
    "total_spent",
    "transaction_hour",
    "transaction_day",
    HIST_FREQ,
    "earlier_in_country",
    "unusual_destination",
    "previous_country",
    "previous_country_invoices",
    "days_since_previous",
    "weekly_rate",
    "invoices_last_hour",
    "invoices_last_24h",
    "invoices_last_7d",
    "usual_last_hour",
    "usual_last_24h",
    "burst_surprise",
    "invoice_amount",
    "amount_median",
    "amount_z",
    "quantity_median",
    "quantity_z",
    "quantity_spike",
    "quantity_index_z",
    "usual_quantity_vs_item",
    "quantity_beyond_habit",
    "zscore",
    "hour_share",
    "hour_rarity",
    "new_stock_code",
    *ITEM_COLUMNS,
]


# Feature column: the prepared line column it is copied from as it is.
COPIED_COLUMNS = {
    **{name: name for name in ("country", "quantity", "unit_price", "total_spent")},
    "transaction_hour": "hour",
    "transaction_day": "weekday",
}


def line_columns(lines) -> dict[str, object]:
    """The columns a feature frame copies from its prepared lines (a frame or a mapping of arrays):
    kind, then COPIED_COLUMNS."""
    kinds = pd.Categorical(np.asarray(lines["kind"]), categories=(SALE, CANCELLATION, NON_PRODUCT))
    return {"kind": kinds, **{name: np.asarray(lines[column]) for name, column in COPIED_COLUMNS.items()}}


def history_features(
    rows: pd.DataFrame,
    past: pd.DataFrame | None = None,
    *,
    priors: HistoryPriors | None = None,
    rows_are_history: bool = True,
) -> pd.DataFrame:
    """Return the point-in-time features of each line of `rows` (same index, HISTORY_COLUMNS).

    History is `past` plus `rows` themselves, always strictly before each line's invoice time.
    `priors` default to `fit_priors` of that history (pass the training priors when scoring).
    Input columns: invoice_no, stock_code, quantity, unit_price, invoice_date (tz-aware),
    customer_id, country (and optionally kind). Surprises: cancellations and non-product lines get
    features too, but only sale invoices and sale lines are history. With `rows_are_history=False`
    each row is judged against `past` alone, as if it were the only new row (used to score planted
    rows without one plant becoming another's history).
    """
    columns = ["invoice_no", "stock_code", "quantity", "unit_price", "invoice_date", "customer_id", "country"]
    if "kind" in rows and (past is None or "kind" in past):
        columns.append("kind")
    frames = [rows[columns]] if past is None else [past[columns], rows[columns]]
    everything = pd.concat(frames, ignore_index=True)
    is_new = np.zeros(len(everything), dtype=bool)
    is_new[len(everything) - len(rows) :] = True
    lines = _prepare_lines(everything)
    lines["history"] = True if rows_are_history else ~is_new
    if past is not None and "quantity_vs_item" in past:
        # Stored lines keep the item index training gave them: a slice of the past does not hold
        # every other line of those items, so recomputing it there would differ.
        lines["given_quantity_vs_item"] = np.r_[
            past["quantity_vs_item"].to_numpy(np.float64), np.full(len(rows), np.nan)
        ]
    priors = priors or fit_priors(everything)
    given = lines["given_quantity_vs_item"].to_numpy() if "given_quantity_vs_item" in lines else None
    needed = None if given is None else is_new | np.isnan(given)  # the others' item figures are given
    result = _compute(lines, priors, needed)[is_new if needed is None else is_new[needed]]
    result.index = rows.index
    return result


def _compute(lines: pd.DataFrame, priors: HistoryPriors, needed: np.ndarray | None = None) -> pd.DataFrame:
    """The features of the `needed` lines of `lines` (all without it), judged against every line."""
    kind = lines["kind"].to_numpy()
    sale = kind == SALE
    known = sale & lines["history"].to_numpy() if "history" in lines else sale  # sale lines that are history
    item = _item_baselines(lines, known, priors.quantity_log_median, needed)  # items: every customer's lines
    history_start = priors.history_start
    if history_start is None:  # priors saved without it: the earliest history line at hand
        history_start = int(lines["seconds"].to_numpy()[known].min()) if known.any() else None
    if needed is not None:  # a customer's figures read only their own lines: keep the asked customers'
        mine = lines["customer_id"].isin(lines["customer_id"][needed]).to_numpy()
        lines, known, needed, item = lines[mine], known[mine], needed[mine], {k: v[mine] for k, v in item.items()}
    return customer_features(lines, known, item, priors, history_start, needed)


def customer_features(
    lines: pd.DataFrame,
    known: np.ndarray,
    item: dict[str, np.ndarray],
    priors: HistoryPriors,
    history_start: int | None,
    needed: np.ndarray | None = None,
) -> pd.DataFrame:
    """The features of the `needed` lines of `lines` (all without it) from their item figures `item`
    (`_item_baselines` of every line, sliced alike) and their customers' own lines in `lines`.

    A line's customer figures read only that customer's lines, so `lines` may hold any set of whole
    customers: the figures are the same as among every customer's lines.
    """
    weight = priors.weight
    customer_code, _ = pd.factorize(lines["customer_id"], sort=True)
    lines = lines.assign(customer_code=customer_code)

    # --- invoices: counts, recency, bursts, country, hours, amounts -------------------------------
    invoices = _invoices(lines)
    by_invoice = lines.assign(_known=known).groupby("invoice_no", sort=False)
    invoices["customer_code"] = by_invoice["customer_code"].first()
    is_event = by_invoice["_known"].any().to_numpy()
    country_code, country_names = pd.factorize(invoices["country"])
    invoices["country_code"] = country_code
    inv_keys = _keys(invoices["customer_code"].to_numpy(), invoices["seconds"].to_numpy())
    inv_start = _keys(invoices["customer_code"].to_numpy(), np.zeros(len(invoices), dtype=np.int64))

    events = invoices[is_event].assign(_key=inv_keys[is_event])
    events = events.sort_values("_key", kind="stable")
    event_keys = events["_key"].to_numpy()

    earlier = np.searchsorted(event_keys, inv_keys, "left") - np.searchsorted(event_keys, inv_start, "left")

    def count_since(seconds: int) -> np.ndarray:
        return np.searchsorted(event_keys, inv_keys, "left") - np.searchsorted(
            event_keys, np.maximum(inv_keys - seconds, inv_start), "left"
        )

    last_hour, last_day, last_week = count_since(3600), count_since(86400), count_since(7 * 86400)

    positions, valid, _ = _lag_window(event_keys, inv_keys, inv_start, LAG_WINDOW)
    event_seconds = _padded(events["seconds"].to_numpy())
    previous_seconds = np.where(valid[:, 0], event_seconds[positions[:, 0]], np.nan)
    gap_days = (invoices["seconds"].to_numpy() - previous_seconds) / 86400.0
    first_pos = np.searchsorted(event_keys, inv_start, "left")
    first_seconds = np.where(earlier > 0, event_seconds[np.minimum(first_pos, len(event_seconds) - 1)], np.nan)
    span_weeks = np.maximum((invoices["seconds"].to_numpy() - first_seconds) / (7 * 86400.0), 1.0)
    weekly_rate = np.where(earlier > 0, earlier / span_weeks, 0.0)
    # Burst: the surprise of the invoices in the last hour / 24 hours against how many the customer
    # usually has in such a window when they buy (the mean over their earlier invoices, shrunk toward
    # the global mean). Invoices cluster in sessions, so a flat daily rate / 24 would make every second
    # invoice of a new customer's session look like an attack. Over one hour it is a Poisson tail; over
    # 24 hours a negative binomial one with the customer's own spread of those counts (shrunk the same
    # way), since a customer's busy days come and go (history_stats.count_surprise).
    order = np.argsort(inv_keys[is_event], kind="stable")
    upper, lower = np.searchsorted(event_keys, inv_keys, "left"), np.searchsorted(event_keys, inv_start, "left")

    def usual(values: np.ndarray, prior: float | None) -> np.ndarray | None:
        running = np.r_[0.0, np.cumsum(values[is_event][order].astype(np.float64))]
        return shrunk_mean(running[upper] - running[lower], earlier, prior, BURST_PRIOR_INVOICES)

    usual_hour, usual_day = usual(last_hour, priors.hour_mean), usual(last_day, priors.day_mean)
    burst_surprise = np.maximum(
        count_surprise(last_hour, usual_hour, None),
        count_surprise(last_day, usual_day, usual(last_day.astype(np.float64) ** 2, priors.day_square_mean)),
    )
    burst_surprise = np.where(burst_warm_up(invoices["seconds"].to_numpy(), history_start), 0.0, burst_surprise)

    # Earlier invoices in this country: the same count on (customer, country) keys.
    pair_code = invoices["customer_code"].to_numpy(np.int64) * (len(country_names) + 1) + country_code
    pair_keys = _keys(pair_code, invoices["seconds"].to_numpy())
    pair_start = _keys(pair_code, np.zeros(len(invoices), dtype=np.int64))
    pair_events = np.sort(pair_keys[is_event])
    earlier_in_country = np.searchsorted(pair_events, pair_keys, "left") - np.searchsorted(
        pair_events, pair_start, "left"
    )
    event_country = _padded(events["country_code"].to_numpy())
    previous_country_code = np.where(valid[:, 0], event_country[positions[:, 0]], -1)
    previous_pair = invoices["customer_code"].to_numpy(np.int64) * (len(country_names) + 1) + np.maximum(
        previous_country_code, 0
    )
    previous_country_invoices = np.where(
        previous_country_code >= 0,
        np.searchsorted(pair_events, _keys(previous_pair, invoices["seconds"].to_numpy()), "left")
        - np.searchsorted(pair_events, _keys(previous_pair, np.zeros(len(invoices), dtype=np.int64)), "left"),
        0,
    )
    previous_country = np.where(
        previous_country_code >= 0, np.asarray(country_names, dtype=object)[np.maximum(previous_country_code, 0)], None
    )

    # Usual hours: share of the last LAG_WINDOW invoices within +-1 hour, shrunk to the global share.
    event_hours = _padded(events["hour"].to_numpy())
    hours = invoices["hour"].to_numpy()
    distance = np.abs(event_hours[positions] - hours[:, None])
    near = ((np.minimum(distance, 24 - distance) <= HOUR_NEIGHBOURS) & valid).sum(axis=1)
    n = valid.sum(axis=1)
    del distance  # (invoices x LAG_WINDOW): freed before the per-line columns are built
    hour_share = (near + weight * np.asarray(priors.hour_share)[hours]) / (n + weight)

    # The invoice's sale amount against the customer's past invoice amounts (log scale).
    event_amount = _padded(np.log1p(events["sale_amount"].clip(lower=0).to_numpy()))
    center, scale = _window_robust(
        event_amount, positions, valid, priors.amount_log_median, priors.amount_log_mad, weight
    )
    invoice_amount = invoices["sale_amount"].to_numpy()
    amount_z = (np.log1p(np.clip(invoice_amount, 0, None)) - center) / scale

    # The customer's usual sale line, from the same last LAG_WINDOW invoices, each summarised by its lines.
    given = lines["given_quantity_vs_item"].to_numpy() if "given_quantity_vs_item" in lines else None
    lines = lines.assign(
        quantity_vs_item=item["quantity_vs_item"]
        if given is None
        else np.where(np.isnan(given), item["quantity_vs_item"], given)
    )
    summaries = invoice_line_summaries(lines[known]).reindex(events.index)
    line_usual = {}
    for name, prior_median, prior_mad in priors.line_priors():
        line_usual[name] = _window_robust(
            _padded(summaries[f"{name}_median"].to_numpy()),
            positions,
            valid,
            prior_median,
            prior_mad,
            weight,
            spread=_padded(summaries[f"{name}_spread"].to_numpy()),
        )
    del positions, valid, summaries

    inv_table = pd.DataFrame(
        {
            HIST_FREQ: earlier,
            "earlier_in_country": earlier_in_country,
            "unusual_destination": (earlier_in_country == 0) & (earlier > 0),
            "previous_country": previous_country,
            "previous_country_invoices": previous_country_invoices,
            "days_since_previous": gap_days,
            "weekly_rate": weekly_rate,
            "invoices_last_hour": last_hour,
            "invoices_last_24h": last_day,
            "invoices_last_7d": last_week,
            "usual_last_hour": usual_hour,
            "usual_last_24h": usual_day,
            "burst_surprise": burst_surprise,
            "invoice_amount": invoice_amount,
            "amount_median": np.expm1(center),
            "amount_z": amount_z,
            "hour_share": hour_share,
            # Unusual for the customer, but never rarer than the hour is for the whole shop (plus a
            # margin): 16:00 for a customer who buys at 09:00 is a habit change, 03:00 is not a shop hour.
            "hour_rarity": np.minimum(
                -np.log(np.clip(hour_share, 1e-6, 1.0)),
                -np.log(np.asarray(priors.hour_share)[hours]) + HOUR_GLOBAL_MARGIN,
            ),
        },
        index=invoices.index,
    )

    for name, (center, scale) in line_usual.items():
        inv_table[f"_{name}_center"], inv_table[f"_{name}_scale"] = center, scale
    history_lines = lines  # every line is history; the figures below are for the lines asked only
    if needed is not None:
        lines, item = lines[needed], {name: values[needed] for name, values in item.items()}
    # Each line's invoice figures, column by column as reindex takes them (NaN for a missing invoice),
    # never a frame of every invoice column for every line.
    at = inv_table.index.get_indexer(lines["invoice_no"].to_numpy())

    def per_line(column: str) -> np.ndarray:
        return pd.api.extensions.take(inv_table[column].to_numpy(), at, allow_fill=True)

    quantity = lines["quantity"].to_numpy()
    total_spent = lines["total_spent"].to_numpy()
    quantity_z = (np.sign(quantity) * np.log1p(np.abs(quantity)) - per_line("_quantity_center")) / per_line(
        "_quantity_scale"
    )
    zscore = (np.sign(total_spent) * np.log1p(np.abs(total_spent)) - per_line("_spent_center")) / per_line(
        "_spent_scale"
    )

    # A StockCode the customer has not bought before (strictly earlier).
    pair = ["customer_code", "stock_code"]
    first_bought = history_lines[known].groupby(pair, sort=False)["seconds"].min().rename("_first_bought")
    first = lines[pair].join(first_bought, on=pair)["_first_bought"]
    new_stock_code = ~(first.to_numpy() < lines["seconds"].to_numpy())

    out = pd.DataFrame(line_columns(lines), index=lines.index)
    for column in inv_table.columns:
        if not column.startswith("_"):
            out[column] = per_line(column)
    out[HIST_FREQ] = out[HIST_FREQ].astype(np.int64)
    out["unusual_destination"] = out["unusual_destination"].astype(bool)
    out["quantity_median"] = np.expm1(per_line("_quantity_center"))
    out["quantity_z"] = quantity_z
    out["quantity_spike"] = quantity_z > SPIKE_Z
    out["quantity_index_z"] = (item["quantity_vs_item"] - per_line("_index_center")) / per_line("_index_scale")
    out["usual_quantity_vs_item"] = per_line("_index_center")
    out["quantity_beyond_habit"] = quantity_beyond_habit(
        item["quantity_vs_item"], out["usual_quantity_vs_item"].to_numpy()
    )
    out["zscore"] = zscore
    out["new_stock_code"] = new_stock_code
    for column in ITEM_COLUMNS:
        out[column] = item[column]
    return out[HISTORY_COLUMNS]
