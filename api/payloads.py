"""Selector rows (snake_case keys) turned into the payloads clients know: the names come from
the score-field registry (`detection.fields`), the JSON types from its model fields, in this one place."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from django.utils import timezone

from decisions.engine import Decisions
from detection import fields
from detection.fields import DRILL_DOWN_KEYS, LISTED_KEYS, METRICS, PAYLOAD_NAMES
from detection.realtime import ScoredRows

__all__ = [
    "DRILL_DOWN_KEYS",
    "LISTED_KEYS",
    "anomalies_payload",
    "customer_ids_payload",
    "payload_rows",
    "score_payload",
]

MAX_LIMIT = 1_000
SCOPES = {"flagged": "rows flagged by either model", "all": "every scored row"}


def _local_iso(value: datetime) -> str:
    """ISO 8601 in UK time (the source file's clock), with its offset."""
    return timezone.localtime(value).isoformat()


def _optional_int(value: Any) -> int | None:
    return None if value is None or value != value or value is pd.NA else int(value)  # NaN != NaN


def _money(value: Any) -> float:
    # Quantity x a 3-decimal price: rounding to 3 decimals removes binary noise only.
    return round(float(value), 3)


_BY_KIND: dict[str, Callable[[Any], Any]] = {
    "int": int,
    "float": float,
    "bool": bool,
    "text": str,
    "datetime": _local_iso,
    "list": fields.explanation_items,
}
_BY_OVERRIDE: dict[str, Callable[[Any], Any]] = {"money": _money, "optional_int": _optional_int}


@cache
def converter(key: str) -> Callable[[Any], Any]:
    """The function that turns a row value of `key` into its JSON form (from the registry and model)."""
    override = fields.BY_KEY[key].json
    return _BY_OVERRIDE.get(override) or _BY_KIND[fields.value_kind(key)]


def payload_row(row: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    """`row`'s `keys`, renamed by PAYLOAD_NAMES and converted to plain JSON types."""
    return {PAYLOAD_NAMES[key]: converter(key)(row[key]) for key in keys}


def payload_rows(rows: Iterable[Mapping[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    return [payload_row(row, keys) for row in rows]


def anomalies_payload(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """The seed's three views of the same rows, in the same order: list, chart series, drill-down."""
    column = METRICS[metric]
    convert = converter(column)
    invoices = [str(row["invoice_no"]) for row in rows]
    values = [convert(row[column]) for row in rows]
    return {
        "anomaly_list": [
            {"InvoiceNo": invoice, "metric_value": value, "RiskScore": float(row["risk_score"])}
            for invoice, value, row in zip(invoices, values, rows, strict=True)
        ],
        "chart_data": {"InvoiceNo": invoices, PAYLOAD_NAMES[column]: values},
        "drill_down_data": payload_rows(rows, DRILL_DOWN_KEYS),
    }


def customer_ids_payload(ids: list[int]) -> dict[str, Any]:
    """`ids` as they are: the selector's list of Python ints (converting 4,372 of them again cost 0.4 ms)."""
    return {"total_customer_ids": len(ids), "customer_ids": ids}


def score_payload(result: ScoredRows, *, store: bool, decisions: Decisions) -> dict[str, Any]:
    """Per posted row, in order: its position, whether it was saved, every feature, score and flag,
    then the published policy's decision and its reasons. Converted column by column (a thousand
    rows), to the same values as `payload_row` gives."""
    columns = result.columns
    converted = {PAYLOAD_NAMES[key]: column_values(key, columns[key]) for key in LISTED_KEYS}
    names = list(converted)
    stored = [bool(value) for value in np.asarray(columns["stored"]).tolist()]
    return {
        "model_version": result.version.pk,
        "store": store,
        "batch_id": result.batch.pk if result.batch else None,
        "flagged": result.flagged,
        "rows": [
            {
                "row": position,
                "stored": stored[position],
                **dict(zip(names, values, strict=True)),
                "decision": decision,
                "reasons": reasons,
            }
            for position, (values, decision, reasons) in enumerate(
                zip(zip(*converted.values(), strict=True), decisions.decision.tolist(), decisions.reasons, strict=True)
            )
        ],
    }


_NUMERIC = {int: "iub", float: "iufb", bool: "b"}  # converter -> numpy kinds it may convert in one go


def column_values(key: str, values: Any) -> list[Any]:
    """`converter(key)` applied to every value of a column (a Series, array or index): numeric columns
    through numpy's tolist (the same Python numbers), the others value by value."""
    convert = converter(key)
    array = values.to_numpy() if isinstance(values, pd.Series) else values
    if isinstance(array, np.ndarray) and array.dtype.kind in _NUMERIC.get(convert, ""):
        return array.astype({int: np.int64, float: np.float64, bool: bool}[convert]).tolist()
    return [convert(value) for value in (array.tolist() if isinstance(array, np.ndarray) else array)]
