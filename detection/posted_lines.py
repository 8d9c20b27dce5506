"""The history features of a few posted rows from the HistoryState, prepared with plain Python and numpy.

`HistoryState.features` prepares its rows with pandas (`history_stats._prepare_lines`, `_invoices`,
group-bys for its checks): vectorised for a thousand rows, but for one posted row that set-up is
most of the request. Here the same lines, invoices and checks are computed row by row (sums in the
same compensated order as pandas' group sums) and handed to the same `history_state._features`, so
the figures are the same bits. None means the state cannot answer: the caller takes the usual path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from .history_priors import HistoryPriors
from .history_state import HistoryState, _features, _find
from .history_stats import LOCAL_TIME_ZONE
from .kinds import CANCELLATION, SALE

MAX_PLAIN_LINES = 64  # past this the vectorised preparation is as quick
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def plain_lines(rows: Mapping[str, Any], kinds: Sequence[str]) -> dict[str, np.ndarray]:
    """`_prepare_lines` of `rows` (transactions_frame's columns as sequences; invoice_date tz-aware) as
    a mapping of arrays (same values and dtypes, no index)."""
    quantity = np.asarray(rows["quantity"], dtype=np.float64)
    unit_price = np.asarray(rows["unit_price"], dtype=np.float64)
    stamps = list(rows["invoice_date"])
    local = [stamp.tz_convert(LOCAL_TIME_ZONE) for stamp in stamps]
    return {
        "invoice_no": np.array([str(value) for value in rows["invoice_no"]], dtype=object),
        "stock_code": np.array([str(value) for value in rows["stock_code"]], dtype=object),
        "customer_id": np.asarray(rows["customer_id"], dtype=np.int64),
        "country": np.array([str(value) for value in rows["country"]], dtype=object),
        "kind": np.array(list(kinds), dtype=object),
        "quantity": quantity,
        "unit_price": unit_price,
        "total_spent": quantity * unit_price,
        "seconds": np.array([stamp.value // 1_000_000_000 for stamp in stamps], dtype=np.int64),
        "hour": np.array([stamp.hour for stamp in local], dtype=np.int64),
        "weekday": np.array([stamp.weekday() for stamp in local], dtype=np.int64),
        "day": np.array([stamp.toordinal() - EPOCH_ORDINAL for stamp in local], dtype=np.int64),
    }


def _kahan_sum(values: list[float]) -> float:
    """A sum in the order and with the compensation of pandas' group sum (same bits)."""
    total, compensation = 0.0, 0.0
    for value in values:
        y = value - compensation
        t = total + y
        compensation = t - total - y
        if compensation != compensation:  # NaN: pandas resets the compensation
            compensation = 0.0
        total = t
    return total


def plain_invoices(lines: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`_invoices(lines)` as arrays, invoices in order of first appearance, plus `invoice_no`."""
    members: dict[str, list[int]] = {}
    for position, number in enumerate(lines["invoice_no"].tolist()):
        members.setdefault(number, []).append(position)
    seconds, spent, kinds = lines["seconds"].tolist(), lines["total_spent"].tolist(), lines["kind"].tolist()
    first = [positions[0] for positions in members.values()]
    return {
        "invoice_no": np.array(list(members), dtype=object),
        "customer_id": lines["customer_id"][first],
        "seconds": np.array([min(seconds[at] for at in positions) for positions in members.values()], np.int64),
        "country": lines["country"][first],
        "hour": lines["hour"][first],
        "sale_lines": np.array(
            [sum(kinds[at] == SALE for at in positions) for positions in members.values()], dtype=np.int64
        ),
        "sale_amount": np.array(
            [
                _kahan_sum([spent[at] if kinds[at] == SALE else 0.0 for at in positions])
                for positions in members.values()
            ],
            dtype=np.float64,
        ),
    }


def _answerable(state: HistoryState, lines: dict, invoices: dict, customer: np.ndarray, stock: np.ndarray) -> bool:
    """HistoryState._answerable's checks, row by row."""
    if CANCELLATION in lines["kind"].tolist():
        return False
    pairs: dict[str, tuple[set, set]] = {}
    for number, customer_id, seconds in zip(
        lines["invoice_no"].tolist(), lines["customer_id"].tolist(), lines["seconds"].tolist(), strict=True
    ):
        seen = pairs.setdefault(number, (set(), set()))
        seen[0].add(customer_id)
        seen[1].add(seconds)
    if any(len(customers) > 1 or len(times) > 1 for customers, times in pairs.values()):
        return False
    if _find(state.invoice_numbers, np.asarray(invoices["invoice_no"], dtype=str)).max() >= 0:
        return False
    known = customer >= 0
    if state.in_warm_up(invoices["seconds"]):
        return False
    if (invoices["seconds"][known] <= state.last_seconds[customer[known]]).any():
        return False
    days: dict[str, set[int]] = {}
    for code, day in zip(lines["stock_code"].tolist(), lines["day"].tolist(), strict=True):
        days.setdefault(code, set()).add(day)
    if any(len(values) > 1 for values in days.values()):
        return False
    sold = stock >= 0
    last_day = state.daily_day[np.maximum(state.daily_start[stock[sold] + 1] - 1, 0)]
    has_days = state.daily_start[stock[sold] + 1] > state.daily_start[stock[sold]]
    return not (has_days & (lines["day"][sold] <= last_day)).any()


def state_features(
    state: HistoryState, rows: Mapping[str, Any], kinds: Sequence[str], priors: HistoryPriors
) -> dict[str, np.ndarray] | None:
    """`state.features(rows with kinds, priors)` as a mapping of arrays (HISTORY_COLUMNS), or None when
    the state cannot answer or there are more than MAX_PLAIN_LINES rows (`rows` as in plain_lines)."""
    if not 1 <= len(kinds) <= MAX_PLAIN_LINES:
        return None
    lines = plain_lines(rows, kinds)
    invoices = plain_invoices(lines)
    if len(set(invoices["customer_id"].tolist())) < len(invoices["customer_id"]):
        return None  # several invoices of one customer
    customer = _find(state.customer_ids, invoices["customer_id"])
    stock = _find(state.stock_codes, np.asarray(lines["stock_code"], dtype=str))
    if not _answerable(state, lines, invoices, customer, stock):
        return None
    return _features(state, lines, invoices, customer, stock, priors)
