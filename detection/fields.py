"""The one registry of score fields: every column a scored row has, its client name and its roles.

Payloads, serializers, dashboard tables and charts, selectors and evaluation all derive their lists
from `FIELDS`; types and help texts come from the model fields (`model_field`), never typed here.
`checks.registry_matches_models` fails `manage.py check` when the registry and the models disagree.

Roles:
- `stored`: a TransactionScore column written by scoring (besides the row's keys);
- `feature`: a stored feature (the seed's metrics and the model inputs shown to analysts);
- `metric`: a metric analysts rank by (/api/anomalies `filter_metric`, the dashboard dropdown);
- `drill_down`: the seed's `drill_down_data` columns, in its order;
- `listed`: a scored transaction in full (/api/transactions/, /api/score, the dashboard tables).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd
from django.db import models

STORED, FEATURE, METRIC, DRILL_DOWN, LISTED = "stored", "feature", "metric", "drill_down", "listed"
# The seed's HistFreq column: the customer's invoices (pure feature code names it through this).
HIST_FREQ = "hist_freq"


@dataclass(frozen=True)
class ScoreField:
    """One column of a scored row.

    `path` is the ORM path from TransactionScore (every listed column is the score table's own:
    no read joins the transaction); `json` overrides the JSON form derived from the model field: "money"
    (rounded to 3 decimals), "flag01" (a 0/1 integer, as the seed sends its indicators),
    "optional_int" (may be null); `decimals` is how many the dashboard shows.
    """

    key: str
    client_name: str
    path: str
    roles: frozenset[str]
    json: str = ""
    decimals: int | None = None

    def has(self, role: str) -> bool:
        return role in self.roles


def _field(key: str, client_name: str, *roles: str, path: str = "", json: str = "", decimals: int | None = None):
    return ScoreField(key, client_name, path or key, frozenset(roles), json, decimals)


# In the order clients see them in /api/transactions/ rows.
FIELDS: tuple[ScoreField, ...] = (
    _field("transaction_id", "transaction_id", LISTED, json="optional_int"),
    _field("customer_id", "CustomerID", LISTED, DRILL_DOWN),
    _field("invoice_no", "InvoiceNo", LISTED, DRILL_DOWN),
    _field("invoice_date", "InvoiceDate", LISTED, DRILL_DOWN),
    _field("stock_code", "StockCode", LISTED, DRILL_DOWN),
    _field("description", "Description", LISTED, DRILL_DOWN),
    _field("quantity", "Quantity", LISTED, DRILL_DOWN),
    _field("unit_price", "UnitPrice", LISTED, DRILL_DOWN, decimals=2),
    _field("country", "Country", LISTED, DRILL_DOWN),
    _field("total_spent", "TotalSpent", STORED, FEATURE, METRIC, LISTED, DRILL_DOWN, json="money", decimals=2),
    _field(HIST_FREQ, "HistFreq", STORED, FEATURE, METRIC, LISTED, DRILL_DOWN),
    _field("unusual_destination", "UnusualDestination", STORED, FEATURE, METRIC, LISTED, DRILL_DOWN, json="flag01"),
    _field("quantity_spike", "QuantitySpike", STORED, FEATURE, METRIC, LISTED, DRILL_DOWN, json="flag01"),
    _field("zscore", "ZScore", STORED, FEATURE, LISTED, decimals=3),
    _field("price_deviation", "PriceDeviation", STORED, FEATURE, LISTED, decimals=3),
    _field("transaction_hour", "TransactionHour", STORED, FEATURE, LISTED),
    _field("transaction_day", "TransactionDay", STORED, FEATURE, LISTED),
    _field("iso_forest_score", "IsolationForest_Score", STORED, LISTED, decimals=3),
    _field("iso_forest_flag", "IsolationForest_Flag", STORED, LISTED),
    _field("autoencoder_mse", "Autoencoder_MSE", STORED),
    _field("autoencoder_score", "Autoencoder_Score", STORED, LISTED, decimals=3),
    _field("autoencoder_flag", "Autoencoder_Flag", STORED, LISTED),
    _field("risk_score", "RiskScore", STORED, LISTED, DRILL_DOWN),
    _field("anomaly_score", "anomaly_score", STORED, LISTED, DRILL_DOWN, decimals=3),
    _field("is_flagged", "is_flagged", STORED, LISTED),
    _field("is_common_anomaly", "is_common_anomaly", STORED, LISTED),
    _field("explanation", "explanation", STORED, LISTED, DRILL_DOWN),
    _field("kind", "kind", STORED, LISTED),
    _field("original_transaction_id", "original_transaction_id", STORED, LISTED, json="optional_int"),
    _field("flag_reasons", "flag_reasons", STORED, LISTED),
)
BY_KEY: dict[str, ScoreField] = {field.key: field for field in FIELDS}
# The columns every score row repeats from its transaction, so per-customer, over-time and
# per-country reads need no join; they lead the stored columns.
ROW_KEYS = ("transaction_id", "customer_id", "invoice_date", "country")
# The transaction's other listed columns, which every score row repeats too (the table's last
# columns) so that the grid filters and sorts on them without a join: not in `score_frame`'s rows,
# read from the transactions when the rows are written (detection.score_writes).
COPIED_KEYS = ("invoice_no", "stock_code", "description", "quantity", "unit_price")


def keys(role: str) -> list[str]:
    """The keys of the fields that have `role`, in registry order."""
    return [field.key for field in FIELDS if field.has(role)]


def client_names(role: str) -> list[str]:
    return [field.client_name for field in FIELDS if field.has(role)]


FEATURE_COLUMNS: list[str] = keys(FEATURE)
SCORE_COLUMNS: list[str] = [*ROW_KEYS, *keys(STORED)]  # a `score_frame` row's
LISTED_KEYS: list[str] = keys(LISTED)
DRILL_DOWN_KEYS: list[str] = keys(DRILL_DOWN)
# Metric name as clients send it -> the score column it reads.
METRICS: dict[str, str] = {field.client_name: field.key for field in FIELDS if field.has(METRIC)}
PAYLOAD_NAMES: dict[str, str] = {field.key: field.client_name for field in FIELDS}
ORM_PATHS: dict[str, str] = {field.key: field.path for field in FIELDS if field.has(LISTED)}
# The stored lists (JSON) of a row: shown as text, never sorted or filtered on.
JSON_KEYS = ("explanation", "flag_reasons")
# Columns the table views can sort and filter on (every listed column but the explanation list).
TABLE_FIELDS: list[str] = [key for key in LISTED_KEYS if key not in JSON_KEYS]


@cache
def model_field(key: str) -> models.Field:
    """The Django model field behind `key` (TransactionScore's, or another model's through a join)."""
    from .models import TransactionScore

    model: Any = TransactionScore
    parts = BY_KEY[key].path.split("__")
    for part in parts[:-1]:
        model = model._meta.get_field(part).related_model
    name = parts[-1]
    return model._meta.get_field(name.removesuffix("_id") if name.endswith("_id") and name != "customer_id" else name)


def value_kind(key: str) -> str:
    """ "int", "float", "bool", "text", "datetime" or "list": how a column's values are typed."""
    internal = model_field(key).get_internal_type()
    if internal in {"FloatField", "DecimalField"}:
        return "float"
    if internal == "BooleanField":
        return "int" if BY_KEY[key].json == "flag01" else "bool"
    if internal == "DateTimeField":
        return "datetime"
    if internal == "JSONField":
        return "list"
    if internal in {"CharField", "TextField"}:
        return "text"
    return "int"


def help_text(key: str) -> str:
    return str(model_field(key).help_text or "")


def nullable(key: str) -> bool:
    """Whether a row's value can be null: the model field allows it (customer_id of a row without one,
    a cancellation's original sale when none was found)."""
    return bool(model_field(key).null)


# Explanations: the stored list of the features that weigh most in a flagged row's score.


def explanation_items(value: Any) -> list[dict[str, Any]]:
    """The stored explanation as a list (JSON text or None become a list)."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return value if isinstance(value, list) else []


def explanation_json(value: Any) -> str:
    """The explanation as compact JSON text, "[]" for rows without one (how scoring stores it)."""
    return json.dumps(explanation_items(value), separators=(",", ":"))


def explanation_json_column(values: pd.Series) -> pd.Series:
    """`explanation_json` of every value; the empty lists of unflagged rows (98 % of a training run's
    401,604) become "[]" without a call each (4.6 s for two columns before)."""
    out = pd.Series("[]", index=values.index, dtype=object)
    present = values.astype(bool).to_numpy()
    out[present] = values[present].map(explanation_json)
    return out


def explanation_text(items: Sequence[dict[str, Any]] | None) -> str:
    """The explanation in words: "TotalSpent=1,234.5 (62%), Quantity=12 (20%)"; "" for none."""
    return ", ".join(
        f"{item['feature']}={item['value']:,.6g} ({item['share']:.0%})" for item in explanation_items(items)
    )


def reasons_text(items: Sequence[dict[str, Any]] | None) -> str:
    """The stored flag reasons in words, strongest first, joined by "; "; "" for none."""
    return "; ".join(str(item.get("text", "")) for item in explanation_items(items))
