"""Table shaping for the dashboard: AG Grid columns, row formatting, grid requests to selector arguments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from detection.selectors import PAYLOAD_NAMES, TABLE_FIELDS, ColumnFilter

NUMBER_FIELDS = {
    "transaction_id",
    "customer_id",
    "quantity",
    "unit_price",
    "total_spent",
    "hist_freq",
    "zscore",
    "price_deviation",
    "transaction_hour",
    "transaction_day",
    "iso_forest_score",
    "autoencoder_score",
    "risk_score",
    "anomaly_score",
}
BOOLEAN_FIELDS = {"unusual_destination", "quantity_spike", "iso_forest_flag", "autoencoder_flag", "is_common_anomaly"}
TEXT_FIELDS = {"invoice_no", "stock_code", "description", "country"}
# Columns shown with a fixed number of decimals.
DECIMALS = {
    "unit_price": 2,
    "total_spent": 2,
    "zscore": 3,
    "price_deviation": 3,
    "iso_forest_score": 3,
    "autoencoder_score": 3,
    "anomaly_score": 3,
}
DRILLDOWN_FIELDS = [
    "invoice_no",
    "invoice_date",
    "customer_id",
    "country",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "total_spent",
    "anomaly_score",
    "risk_score",
    "is_common_anomaly",
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
    "explanation_text",
    "transaction_id",
]
PAGE_SIZE = 100
# AG Grid filter types -> selector operators.
_NUMBER_OPS = {
    "equals": "eq",
    "notEqual": "ne",
    "greaterThan": "gt",
    "greaterThanOrEqual": "gte",
    "lessThan": "lt",
    "lessThanOrEqual": "lte",
    "inRange": "between",
}
_TEXT_OPS = {"contains": "contains", "equals": "eq", "notEqual": "ne", "startsWith": "startswith"}
_BOOLEAN_OPS = {"true": "is_true", "false": "is_false"}


def header(field: str) -> str:
    """The column title: the name clients know (PAYLOAD_NAMES), or the field itself."""
    if field == "explanation_text":
        return "Explanation"
    return PAYLOAD_NAMES.get(field, field)


def column_def(field: str, *, server_side: bool) -> dict[str, Any]:
    """One AG Grid column definition; server-side columns get only the filters the selector supports."""
    column: dict[str, Any] = {"field": field, "headerName": header(field), "sortable": True}
    if field in NUMBER_FIELDS:
        column["type"] = "numericColumn"
        column["filter"] = "agNumberColumnFilter"
        column["filterParams"] = {"filterOptions": list(_NUMBER_OPS), "maxNumConditions": 1}
        if field in DECIMALS:
            pattern = f",.{DECIMALS[field]}f"
            column["valueFormatter"] = {"function": f"params.value == null ? '' : d3.format('{pattern}')(params.value)"}
    elif field in BOOLEAN_FIELDS:
        column["cellDataType"] = "boolean"
        # AG Grid gives boolean columns a text filter whose options are "true" and "false".
        column["filter"] = "agTextColumnFilter"
    elif field in TEXT_FIELDS:
        column["filter"] = "agTextColumnFilter"
        column["filterParams"] = {"filterOptions": list(_TEXT_OPS), "maxNumConditions": 1}
    else:
        column["filter"] = False
        column["sortable"] = field in TABLE_FIELDS
    if not server_side:
        column.pop("filterParams", None)
        column["filter"] = field != "explanation_text"
    if field == "explanation_text":
        column.update({"sortable": False, "minWidth": 320, "wrapText": False})
    return column


def column_defs(*, server_side: bool) -> list[dict[str, Any]]:
    """Column definitions of every field, in DRILLDOWN_FIELDS order."""
    return [column_def(field, server_side=server_side) for field in DRILLDOWN_FIELDS]


def explanation_text(items: Sequence[dict[str, Any]] | None) -> str:
    """The explanation list as text: "TotalSpent=1,234.5 (62%), Quantity=12 (20%)"; "" for none."""
    if not items:
        return ""
    return ", ".join(f"{item['feature']}={item['value']:,.6g} ({item['share']:.0%})" for item in items)


def local_time(value: datetime) -> str:
    """An aware datetime in the site's time zone, to the minute."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def grid_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Selector rows made JSON-ready for the grid: local dates, explanation as text, string row ids."""
    shaped = []
    for row in rows:
        item = {key: value for key, value in row.items() if key != "explanation"}
        item["invoice_date"] = local_time(row["invoice_date"])
        item["explanation_text"] = explanation_text(row.get("explanation"))
        item["row_id"] = str(row["transaction_id"])
        shaped.append(item)
    return shaped


@dataclass(frozen=True)
class PageQuery:
    """The selector arguments of one grid request."""

    offset: int
    limit: int
    order_by: tuple[str, ...]
    filters: tuple[ColumnFilter, ...]


def _column_filter(field: str, model: dict[str, Any]) -> ColumnFilter:
    kind = model.get("filterType")
    operator = model.get("type")
    if kind == "number" and operator in _NUMBER_OPS:
        return ColumnFilter(field, _NUMBER_OPS[operator], model.get("filter"), model.get("filterTo"))
    if kind == "text" and operator in _BOOLEAN_OPS and field in BOOLEAN_FIELDS:
        return ColumnFilter(field, _BOOLEAN_OPS[operator])
    if kind == "text" and operator in _TEXT_OPS:
        return ColumnFilter(field, _TEXT_OPS[operator], model.get("filter") or "")
    raise ValueError(f"unsupported filter on {field!r}: {kind} {operator}")


def page_query(request: dict[str, Any]) -> PageQuery:
    """Translate an AG Grid infinite-model request (startRow, endRow, sortModel, filterModel).

    Raises ValueError for a column or filter the selector does not support.
    """
    start = max(0, int(request.get("startRow") or 0))
    end = int(request.get("endRow") or start + PAGE_SIZE)
    limit = min(max(1, end - start), 1000)
    order_by = []
    for item in request.get("sortModel") or []:
        field = item["colId"]
        if field not in TABLE_FIELDS:
            raise ValueError(f"cannot sort on {field!r}")
        order_by.append(("-" if item.get("sort") == "desc" else "") + field)
    filters = tuple(_column_filter(field, model) for field, model in (request.get("filterModel") or {}).items())
    return PageQuery(start, limit, tuple(order_by) or ("-anomaly_score",), filters)
