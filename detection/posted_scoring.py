"""Scoring a few posted rows without pandas frames: `score_posted` and `score_features` for the rows the
HistoryState answers, as plain columns (numpy arrays and lists).

For one row, building and indexing DataFrames was most of POST /api/score's time; the figures come
from the same functions here (`history_state._features`, `FusedDetector.score_arrays`,
`explanations`, `reasons_from`, `line_rule_reasons`), so the columns equal those of
`realtime.score_rows`'s frame (tested against it). Returns None whenever the usual path is needed:
more than `posted_lines.MAX_PLAIN_LINES` rows, rows the state cannot answer (cancellations, several
invoices of one customer, rows not after the history...), or a version whose scores also read
analysts' verdicts (its supervised layer or feedback).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .bundle import ScoringBundle
from .estimators import explanations
from .features import ZSCORE_CLIP
from .fields import HIST_FREQ
from .fusion import FusedDetector
from .history_stats import _nan_to_num
from .kinds import SALE, line_kind, line_rule_reasons
from .posted_lines import MAX_PLAIN_LINES, state_features
from .reasons import reasons_from
from .scoring import DISPLAY

SOURCE_COLUMNS = ["invoice_no", "stock_code", "description", "quantity", "unit_price"]


def score_plain(typed: Mapping[str, Any], bundle: ScoringBundle) -> dict[str, Any] | None:
    """The columns of `realtime.score_rows`'s rows (not stored) for validated rows `typed` (the typed
    columns as sequences, e.g. `transactions.plain_rows.plain_columns`; invoice_date tz-aware), or
    None when the usual path must score them (see the module docstring)."""
    fused = bundle.fused
    if bundle.state is None or fused.supervised is not None or fused.feedback is not None:
        return None
    n = len(typed["quantity"])
    if not 1 <= n <= MAX_PLAIN_LINES:
        return None
    kinds = [
        line_kind(code, number, quantity)
        for code, number, quantity in zip(typed["stock_code"], typed["invoice_no"], typed["quantity"], strict=True)
    ]
    features = state_features(bundle.state, typed, kinds, bundle.priors)
    if features is None:
        return None
    source = {name: _array(typed[name]) for name in SOURCE_COLUMNS}
    return {
        **source,
        **score_columns(typed, features, fused),
        "transaction_id": np.full(n, None, dtype=object),
        "stored": np.zeros(n, dtype=bool),
    }


def score_columns(typed: Mapping[str, Any], features: dict[str, Any], fused: FusedDetector) -> dict[str, Any]:
    """`scoring.score_features`'s columns for posted rows that are neither stored nor cancellations,
    from their `features` (a mapping of HISTORY_COLUMNS arrays)."""
    model_scores, scored, surprise, _ = fused.score_arrays(features)
    kind = np.asarray(features["kind"], dtype=object)
    n, sale = len(kind), kind == SALE
    value = np.abs(_floats(typed["quantity"]) * _floats(typed["unit_price"]))
    codes = np.array([str(code).strip() for code in typed["stock_code"]], dtype=object)
    rules = line_rule_reasons(value, codes, kind, np.zeros(n, dtype=bool))
    model_flag = scored["is_flagged"] & sale
    rule_flag = np.array([bool(items) for items in rules], dtype=bool)
    iso_flag = scored["iso_forest_flag"] & sale
    autoencoder_flag = scored["autoencoder_flag"] & sale
    is_flagged = model_flag | rule_flag

    flagged = np.flatnonzero(is_flagged)
    display = np.column_stack([_floats(features[DISPLAY[name][1]]) for name in fused.model_features])
    lists = explanations(
        model_scores.error_share,
        np.where(np.isnan(display), 0.0, display),
        [DISPLAY[name][0] for name in fused.model_features],
        flagged,
    )
    explained = np.full(n, np.nan, dtype=object)  # as pd.Series(None, dtype=object) holds it
    for position, items in zip(flagged, lists, strict=True):
        explained[position] = items

    why: list[list[dict]] = [[] for _ in range(n)]
    model_rows = np.flatnonzero(model_flag)
    found = reasons_from(
        _row_reader(features),
        fused.tail.names,
        surprise,
        scored["iso_forest_flag"],
        scored["iso_forest_score"],
        model_rows,
    )
    for position, items in zip(model_rows, found, strict=True):
        why[position] = items
    for position in np.flatnonzero(rule_flag):
        why[position] = rules[position]
    return {
        "transaction_id": np.zeros(n, dtype=np.int64),
        "customer_id": np.asarray(typed["customer_id"], dtype=np.int64),
        "invoice_date": _utc(typed["invoice_date"]),
        "country": _array(typed["country"]),
        "total_spent": np.asarray(features["total_spent"]),
        HIST_FREQ: np.asarray(features[HIST_FREQ], dtype=np.int64),
        "unusual_destination": np.asarray(features["unusual_destination"], dtype=bool),
        "quantity_spike": np.asarray(features["quantity_spike"], dtype=bool),
        "zscore": np.clip(_nan_to_num(_floats(features["zscore"])), -ZSCORE_CLIP, ZSCORE_CLIP),
        "price_deviation": _floats(features["price_ratio"]),
        "transaction_hour": np.asarray(features["transaction_hour"], dtype=np.int64),
        "transaction_day": np.asarray(features["transaction_day"], dtype=np.int64),
        "iso_forest_score": scored["iso_forest_score"],
        "iso_forest_flag": iso_flag,
        "autoencoder_mse": scored["autoencoder_mse"],
        "autoencoder_score": scored["autoencoder_score"],
        "autoencoder_flag": autoencoder_flag,
        "risk_score": scored["risk_score"],
        "anomaly_score": np.where(sale, scored["anomaly_score"], 0.0),
        "is_flagged": is_flagged,
        "is_common_anomaly": iso_flag & autoencoder_flag,
        "explanation": explained,
        "kind": kind.astype(str).astype(object),
        "original_transaction_id": np.full(n, np.nan),  # no cancellation here: no sale to point to
        "flag_reasons": why,
    }


def _utc(dates: Any) -> list[pd.Timestamp]:
    return [pd.Timestamp(date).tz_convert("UTC") for date in dates]


def _array(values: Any) -> np.ndarray:
    """A column as a numpy array; text as an object array of str, as the typed frame holds it."""
    array = np.asarray(values)
    return array.astype(object) if array.dtype.kind == "U" else array


def _floats(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _row_reader(features: dict[str, Any]):
    """row i of `features` as {column: value}, as `DataFrame.iloc[i]` gives it to the reason builders."""
    return lambda position: {name: values[position] for name, values in features.items()}
