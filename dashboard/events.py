"""Which transaction a click in the dashboard points at: plain functions over Dash event payloads."""

from __future__ import annotations

from typing import Any


def triggered_component(callback_context: Any) -> str | None:
    """The id of the component whose property triggered the callback, from django-plotly-dash's context."""
    triggered = getattr(callback_context, "triggered", None) or []
    if not isinstance(triggered, list) or not triggered or not isinstance(triggered[0], dict):
        return None
    return str(triggered[0].get("prop_id", "")).split(".")[0] or None


# Transaction ids are BigAutoField primary keys.
MAX_TRANSACTION_ID = 2**63 - 1


def _as_id(value: Any) -> int | None:
    """`value` as a transaction id (an int, or its ASCII digits), or None when it cannot be one."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_TRANSACTION_ID else None


def bar_transaction_id(click_data: Any) -> int | None:
    """The transaction_id carried in a bar's customdata, or None."""
    points = click_data.get("points") if isinstance(click_data, dict) else None
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        return None
    custom = points[0].get("customdata")
    if isinstance(custom, list):
        custom = custom[0] if custom else None
    return _as_id(custom)


def cell_transaction_id(cell_clicked: Any) -> int | None:
    """The transaction_id of a clicked grid row (its row id), or None."""
    return _as_id(cell_clicked.get("rowId")) if isinstance(cell_clicked, dict) else None


def clicked_transaction_id(trigger: str | None, bar_click: Any, drilldown_cell: Any, table_cell: Any) -> int | None:
    """The transaction the latest click points at: the triggering source first, then any source."""
    by_source = {
        "top-anomalies": bar_transaction_id(bar_click),
        "drilldown": cell_transaction_id(drilldown_cell),
        "score-table": cell_transaction_id(table_cell),
    }
    if trigger in by_source:
        return by_source[trigger]
    return next((value for value in by_source.values() if value is not None), None)
