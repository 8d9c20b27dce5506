"""Table shaping for the dashboard: AG Grid columns, row formatting, grid requests to selector arguments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from detection import fields
from detection.fields import JSON_KEYS, LISTED_KEYS, PAYLOAD_NAMES, TABLE_FIELDS, explanation_text
from detection.grid import ColumnFilter

# The grid's columns: every listed score field (the registry's order), the explanation as text.
DRILLDOWN_FIELDS = [*(key for key in LISTED_KEYS if key not in JSON_KEYS), "explanation_text"]
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
    if field not in fields.BY_KEY or field in JSON_KEYS:
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
        item = {key: value for key, value in row.items() if key not in JSON_KEYS}
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


# Bounds of what a grid request may ask: rows from the start, and a filter's numbers.
MAX_ROW_INDEX = 10**9
MAX_FILTER_NUMBER = 1e15
MAX_FILTER_TEXT = 200


def _row_index(value: Any, default: int) -> int:
    """A row position of the request (startRow, endRow); ValueError unless a number in 0..MAX_ROW_INDEX."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_ROW_INDEX:
        raise ValueError(f"not a row position: {value!r}")
    return int(value)


def _filter_number(value: Any) -> float | int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not -MAX_FILTER_NUMBER <= value <= MAX_FILTER_NUMBER
    ):
        raise ValueError("a number filter needs a number")
    return value


def _filter_text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_FILTER_TEXT:
        raise ValueError("a text filter needs a short text")
    return value


def _column_filter(field: str, model: Any) -> ColumnFilter:
    if field not in TABLE_FIELDS or not isinstance(model, dict):
        raise ValueError(f"unsupported filter on {field!r}")
    kind = model.get("filterType")
    operator = model.get("type")
    if not isinstance(operator, str):
        raise ValueError(f"unsupported filter on {field!r}")
    if kind == "number" and operator in _NUMBER_OPS:
        upper = _filter_number(model.get("filterTo")) if operator == "inRange" else None
        return ColumnFilter(field, _NUMBER_OPS[operator], _filter_number(model.get("filter")), upper)
    if kind == "text" and operator in _BOOLEAN_OPS and grid_type(field) == "boolean":
        return ColumnFilter(field, _BOOLEAN_OPS[operator])
    if kind == "text" and operator in _TEXT_OPS:
        return ColumnFilter(field, _TEXT_OPS[operator], _filter_text(model.get("filter")))
    raise ValueError(f"unsupported filter on {field!r}: {kind} {operator}")


def _sort_term(item: Any) -> str:
    field = item.get("colId") if isinstance(item, dict) else None
    if not isinstance(field, str) or field not in TABLE_FIELDS:
        raise ValueError(f"cannot sort on {field!r}")
    return ("-" if item.get("sort") == "desc" else "") + field


def page_query(request: Any) -> PageQuery:
    """Translate an AG Grid infinite-model request (startRow, endRow, sortModel, filterModel).

    Raises ValueError for anything else: a request that is not an object, a row position out of
    range, a column or filter the selector does not support, a filter value of the wrong kind.
    """
    if not isinstance(request, dict):
        raise ValueError("a grid request is an object")
    start = _row_index(request.get("startRow"), 0)
    end = _row_index(request.get("endRow"), start + PAGE_SIZE)
    limit = min(max(1, end - start), 1000)
    sort_model = request.get("sortModel") or []
    filter_model = request.get("filterModel") or {}
    if not isinstance(sort_model, list) or not isinstance(filter_model, dict):
        raise ValueError("sortModel is a list and filterModel an object")
    order_by = tuple(_sort_term(item) for item in sort_model)
    filters = tuple(_column_filter(field, model) for field, model in filter_model.items())
    return PageQuery(start, limit, order_by or ("-anomaly_score",), filters)
