"""Table shaping for the dashboard: AG Grid columns, row formatting, grid requests to selector arguments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from detection import fields
from detection.fields import LISTED_KEYS, PAYLOAD_NAMES, TABLE_FIELDS, explanation_text
from detection.grid import ColumnFilter

# The grid's columns: every listed score field (the registry's order), the explanation as text.
DRILLDOWN_FIELDS = [*(key for key in LISTED_KEYS if key != "explanation"), "explanation_text"]
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


def grid_type(field: str) -> str:
    """ "number", "boolean" (flags and the seed's 0/1 indicators), "text", or "" for other columns."""
    if field not in fields.BY_KEY or field == "explanation":
        return ""
    if fields.BY_KEY[field].json == "flag01":
        return "boolean"
    return {"int": "number", "float": "number", "bool": "boolean", "text": "text"}.get(fields.value_kind(field), "")


def column_def(field: str, *, server_side: bool) -> dict[str, Any]:
    """One AG Grid column definition; server-side columns get only the filters the selector supports."""
    column: dict[str, Any] = {"field": field, "headerName": header(field), "sortable": True}
    kind = grid_type(field)
    if kind == "number":
        column["type"] = "numericColumn"
        column["filter"] = "agNumberColumnFilter"
        column["filterParams"] = {"filterOptions": list(_NUMBER_OPS), "maxNumConditions": 1}
        decimals = fields.BY_KEY[field].decimals
        if decimals is not None:
            pattern = f",.{decimals}f"
            column["valueFormatter"] = {"function": f"params.value == null ? '' : d3.format('{pattern}')(params.value)"}
    elif kind == "boolean":
        column["cellDataType"] = "boolean"
        # AG Grid gives boolean columns a text filter whose options are "true" and "false".
        column["filter"] = "agTextColumnFilter"
    elif kind == "text":
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
    if kind == "text" and operator in _BOOLEAN_OPS and grid_type(field) == "boolean":
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
