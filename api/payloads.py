"""Selector rows (snake_case keys) turned into the payloads clients know: the names come from
`detection.selectors.PAYLOAD_NAMES`, the JSON types from `CONVERTERS`, in this one place."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from detection.realtime import ScoredRows
from detection.selectors import METRICS, PAYLOAD_NAMES

MAX_LIMIT = 1_000
SCOPES = {"flagged": "rows flagged by either model", "all": "every scored row"}

# The seed's drill_down_data keys, in its order.
DRILL_DOWN_KEYS = [
    "customer_id",
    "invoice_no",
    "invoice_date",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "country",
    "total_spent",
    "hist_freq",
    "unusual_destination",
    "quantity_spike",
    "risk_score",
    "anomaly_score",
    "explanation",
]
# A scored transaction with every feature, score and flag (/api/transactions/, /api/score).
LISTED_KEYS = [
    "transaction_id",
    "customer_id",
    "invoice_no",
    "invoice_date",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "country",
    "total_spent",
    "hist_freq",
    "unusual_destination",
    "quantity_spike",
    "zscore",
    "price_deviation",
    "transaction_hour",
    "transaction_day",
    "iso_forest_score",
    "iso_forest_flag",
    "autoencoder_score",
    "autoencoder_flag",
    "risk_score",
    "anomaly_score",
    "is_flagged",
    "is_common_anomaly",
    "explanation",
]


def _local_iso(value: datetime) -> str:
    """ISO 8601 in UK time (the source file's clock), with its offset."""
    return timezone.localtime(value).isoformat()


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _money(value: Any) -> float:
    # Quantity x a 3-decimal price: rounding to 3 decimals removes binary noise only.
    return round(float(value), 3)


def _explanation(value: Any) -> list[dict[str, Any]]:
    return value if isinstance(value, list) else []


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "transaction_id": _optional_int,
    "customer_id": int,
    "invoice_no": str,
    "invoice_date": _local_iso,
    "stock_code": str,
    "description": str,
    "quantity": int,
    "unit_price": float,
    "country": str,
    "total_spent": _money,
    "hist_freq": int,
    "unusual_destination": int,
    "quantity_spike": int,
    "zscore": float,
    "price_deviation": float,
    "transaction_hour": int,
    "transaction_day": int,
    "iso_forest_score": float,
    "iso_forest_flag": bool,
    "autoencoder_score": float,
    "autoencoder_flag": bool,
    "risk_score": float,
    "anomaly_score": float,
    "is_flagged": bool,
    "is_common_anomaly": bool,
    "explanation": _explanation,
}


def payload_row(row: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    """`row`'s `keys`, renamed by PAYLOAD_NAMES and converted to plain JSON types."""
    return {PAYLOAD_NAMES[key]: CONVERTERS[key](row[key]) for key in keys}


def payload_rows(rows: Iterable[Mapping[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    return [payload_row(row, keys) for row in rows]


def anomalies_payload(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """The seed's three views of the same rows, in the same order: list, chart series, drill-down."""
    column = METRICS[metric]
    convert = CONVERTERS[column]
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
    return {"total_customer_ids": len(ids), "customer_ids": [int(customer_id) for customer_id in ids]}


def score_payload(result: ScoredRows, *, store: bool) -> dict[str, Any]:
    """Per posted row, in order: its position, whether it was saved, and every feature, score and flag."""
    records = result.rows.to_dict("records")
    return {
        "model_version": result.version.pk,
        "store": store,
        "batch_id": result.batch.pk if result.batch else None,
        "flagged": int(result.rows["is_flagged"].sum()),
        "rows": [
            {"row": position, "stored": bool(record["stored"]), **payload_row(record, LISTED_KEYS)}
            for position, record in enumerate(records)
        ],
    }
