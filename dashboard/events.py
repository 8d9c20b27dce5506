"""Which transaction a click in the dashboard points at: plain functions over Dash event payloads."""

from __future__ import annotations

from typing import Any


def triggered_component(callback_context: Any) -> str | None:
    """The id of the component whose property triggered the callback, from django-plotly-dash's context."""
    triggered = getattr(callback_context, "triggered", None) or []
    if not triggered:
        return None
    return str(triggered[0].get("prop_id", "")).split(".")[0] or None


def _as_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def bar_transaction_id(click_data: dict[str, Any] | None) -> int | None:
    """The transaction_id carried in a bar's customdata, or None."""
    points = (click_data or {}).get("points") or []
    if not points:
        return None
    custom = points[0].get("customdata")
    if isinstance(custom, list):
        custom = custom[0] if custom else None
    return _as_id(custom)


def cell_transaction_id(cell_clicked: dict[str, Any] | None) -> int | None:
    """The transaction_id of a clicked grid row (its row id), or None."""
    return _as_id((cell_clicked or {}).get("rowId"))


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
