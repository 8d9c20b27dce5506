"""Why a line was flagged, in words, stored as data: a list of {"key", "values", "text"} per row,
strongest evidence first. Pure pandas/numpy; no ORM.

Reasons come from the tail detector's per-feature surprises (-log tail probability among training
sale lines) above REASON_SURPRISE, i.e. rarer than about 1 line in 50; when none passes but the
Isolation Forest flagged the line, the reason says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .fields import HIST_FREQ

REASON_SURPRISE = 4.0  # exp(-4) ~ 1.8 %: a feature rarer than this among training lines is a reason
MAX_REASONS = 3


def _times(ratio: float) -> str:
    if ratio >= 1:
        return f"{ratio:.1f}x"
    return f"1/{1 / ratio:.1f} of"


def _money(value: float) -> str:
    return f"£{value:,.2f}"


def _price(row) -> tuple[dict, str]:
    baseline, latest, price = row["item_price_baseline"], row["item_price_latest"], row["unit_price"]
    ratio = float(np.exp(row["price_ratio"]))
    values = {"unit_price": price, "item_median_30d": baseline, "item_latest": latest, "ratio": round(ratio, 3)}
    return values, (
        f"unit price {_money(price)} is {_times(ratio)} this item's median over the last 30 days ({_money(baseline)})"
    )


def _quantity_item(row) -> tuple[dict, str]:
    usual = row["item_quantity_baseline"]
    ratio = abs(row["quantity"]) / max(usual, 1.0)
    values = {"quantity": row["quantity"], "item_usual_quantity": round(usual, 1), "ratio": round(ratio, 1)}
    return (
        values,
        f"quantity {row['quantity']:,.0f} is {ratio:.0f}x what this item usually sells per line ({usual:.0f})",
    )


def _quantity_beyond_habit(row) -> tuple[dict, str]:
    values, text = _quantity_item(row)
    habit = float(np.exp(max(np.nan_to_num(row["usual_quantity_vs_item"]), 0.0)))
    if habit < 1.5:
        return values, text
    values["customer_usual_item_ratio"] = round(habit, 1)
    return values, f"{text}; this customer's lines usually run at {habit:.1f}x an item's usual"


def _quantity_customer(row) -> tuple[dict, str]:
    usual = row["quantity_median"]
    values = {"quantity": row["quantity"], "customer_usual_quantity": round(usual, 1), "z": round(row["quantity_z"], 1)}
    return values, (
        f"quantity {row['quantity']:,.0f}; this customer usually buys about {usual:.0f} per line "
        f"({int(row[HIST_FREQ])} earlier invoices)"
    )


def _amount(row) -> tuple[dict, str]:
    values = {"total_spent": round(row["total_spent"], 2), "z": round(row["zscore"], 1)}
    return values, (
        f"line total {_money(row['total_spent'])} is {row['zscore']:.1f} robust standard deviations above "
        "this customer's usual line"
    )


def _destination(row) -> tuple[dict, str]:
    earlier, previous, in_previous = (
        int(row[HIST_FREQ]),
        row["previous_country"],
        int(row["previous_country_invoices"]),
    )
    where = f"all {previous}" if in_previous == earlier else f"the last from {previous}"
    values = {"country": row["country"], "earlier_invoices": earlier, "previous_country": previous}
    return values, f"first purchase from {row['country']}; {earlier} earlier invoices, {where}"


def _burst(row) -> tuple[dict, str]:
    hour, day, weekly = int(row["invoices_last_hour"]), int(row["invoices_last_24h"]), row["weekly_rate"]
    usual = f"usually {weekly:.1f} a week" if weekly >= 0.1 else "usually fewer than one a week"
    window = (
        f"{hour} earlier invoices in the last hour" if hour >= 2 else f"{day} earlier invoices in the last 24 hours"
    )
    values = {"last_hour": hour, "last_24h": day, "usual_per_week": round(weekly, 2)}
    return values, f"{window}; {usual}"


def _hour(row) -> tuple[dict, str]:
    hour = int(row["transaction_hour"])
    share = row["hour_share"]
    values = {"hour": hour, "share_near_this_hour": round(share, 4), "earlier_invoices": int(row[HIST_FREQ])}
    return values, (
        f"ordered at {hour:02d}:xx (UK time); about {share:.1%} of this customer's invoices, "
        "and few of the shop's, fall within an hour of it"
    )


# tail detector feature -> (machine key, sentence builder)
REASONS = {
    "price_ratio": ("price_vs_item", _price),
    "quantity_beyond_habit": ("quantity_vs_item", _quantity_beyond_habit),
    "quantity_vs_item": ("quantity_vs_item", _quantity_item),  # versions saved before quantity_beyond_habit
    "quantity_for_item_and_amount": ("quantity_vs_item", _quantity_beyond_habit),
    "quantity_for_item_and_habit": ("quantity_vs_item", _quantity_beyond_habit),
    "quantity_z": ("quantity_vs_customer", _quantity_customer),
    "quantity_index_z": ("quantity_vs_customer", _quantity_customer),
    "zscore": ("amount_vs_customer", _amount),
    "destination_evidence": ("new_country", _destination),
    "burst_surprise": ("burst", _burst),
    "hour_rarity": ("unusual_hour", _hour),
}


def reasons(features: pd.DataFrame, scores: pd.DataFrame, rows: np.ndarray) -> list[list[dict]]:
    """Return, for each position in `rows`, up to MAX_REASONS reasons (strongest first).

    `features`: history_features (plus `country`); `scores`: FusedDetector.score output (same index).
    Only the selected rows become Python objects.
    """
    names = [column.removeprefix("surprise_") for column in scores.columns if column.startswith("surprise_")]
    surprise = scores[[f"surprise_{name}" for name in names]].to_numpy()
    columns = {name: features[name].to_numpy() for name in features.columns}  # rows read as iloc gives them
    return reasons_from(
        lambda position: {name: values[position] for name, values in columns.items()},
        names,
        surprise,
        scores["iso_forest_flag"].to_numpy(),
        scores["iso_forest_score"].to_numpy(),
        rows,
    )


def reasons_from(
    row_at: Callable[[int], Mapping],
    names: list[str],
    surprise: np.ndarray,
    iso_forest_flag: np.ndarray,
    iso_forest_score: np.ndarray,
    rows: np.ndarray,
) -> list[list[dict]]:
    """`reasons` from arrays: `row_at(i)` gives row i's features, `surprise` is rows x `names` (tail
    detector surprises), the forest's flag and score one per row."""
    surprise = surprise[rows]
    order = np.argsort(-surprise, axis=1, kind="stable")
    out = []
    for position, row_index in enumerate(rows):  # flagged rows only: a few thousand at most
        row = row_at(row_index)
        items, seen = [], set()
        for column in order[position]:
            strength = surprise[position, column]
            if strength < REASON_SURPRISE or len(items) == MAX_REASONS:
                break
            key, build = REASONS[names[column]]
            if key in seen:
                continue
            seen.add(key)
            values, text = build(row)
            items.append({"key": key, "values": _plain(values), "surprise": round(float(strength), 2), "text": text})
        if not items and bool(iso_forest_flag[row_index]):
            rank = float(iso_forest_score[row_index])
            items.append(
                {
                    "key": "isolation_forest",
                    "values": {"iso_forest_score": round(rank, 4)},
                    "surprise": None,
                    "text": f"an unusual combination of features (Isolation Forest, top {1 - rank:.1%} of lines)",
                }
            )
        out.append(items)
    return out


def _plain(values: dict) -> dict:
    """Numbers as plain floats/ints (JSON-ready), NaN as None."""
    plain = {}
    for key, value in values.items():
        if isinstance(value, (np.floating, float)):
            plain[key] = None if np.isnan(value) else float(value)
        elif isinstance(value, (np.integer, int)):
            plain[key] = int(value)
        else:
            plain[key] = value
    return plain
