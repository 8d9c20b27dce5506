"""Table shaping and click handling: grid requests to selector arguments, rows to grid rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.events import bar_transaction_id, cell_transaction_id, clicked_transaction_id, triggered_component
from dashboard.tables import DRILLDOWN_FIELDS, column_defs, explanation_text, grid_rows, page_query
from detection.fields import TABLE_FIELDS
from detection.grid import ColumnFilter


def test_page_query_translates_paging_sorting_and_every_filter_kind() -> None:
    query = page_query(
        {
            "startRow": 200,
            "endRow": 300,
            "sortModel": [{"colId": "total_spent", "sort": "desc"}, {"colId": "invoice_no", "sort": "asc"}],
            "filterModel": {
                "customer_id": {"filterType": "number", "type": "equals", "filter": 17841},
                "anomaly_score": {"filterType": "number", "type": "inRange", "filter": 0.5, "filterTo": 0.9},
                "description": {"filterType": "text", "type": "contains", "filter": "heart"},
                "quantity_spike": {"filterType": "text", "type": "true"},
            },
        }
    )
    assert (query.offset, query.limit) == (200, 100)
    assert query.order_by == ("-total_spent", "invoice_no")
    assert query.filters == (
        ColumnFilter("customer_id", "eq", 17841),
        ColumnFilter("anomaly_score", "between", 0.5, 0.9),
        ColumnFilter("description", "contains", "heart"),
        ColumnFilter("quantity_spike", "is_true"),
    )


def test_page_query_defaults_to_highest_anomaly_score_first() -> None:
    query = page_query({"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}})
    assert query.order_by == ("-anomaly_score",)
    assert query.filters == ()


@pytest.mark.parametrize(
    "request_",
    [
        {"sortModel": [{"colId": "explanation", "sort": "asc"}]},
        {"filterModel": {"quantity": {"filterType": "set", "values": ["1"]}}},
        {"filterModel": {"quantity": {"filterType": "number", "type": "blank"}}},
    ],
)
def test_page_query_rejects_what_the_selector_cannot_do(request_: dict) -> None:
    with pytest.raises(ValueError):
        page_query({"startRow": 0, "endRow": 100, **request_})


def test_page_query_caps_the_block_size() -> None:
    assert page_query({"startRow": 0, "endRow": 50_000}).limit == 1000


def test_grid_rows_format_dates_explanations_and_string_row_ids() -> None:
    row = {
        "transaction_id": 42,
        "invoice_date": datetime(2011, 6, 1, 9, 5, tzinfo=UTC),
        "explanation": [{"feature": "TotalSpent", "value": 1234.5, "share": 0.62}],
        "total_spent": 1234.5,
    }
    (shaped,) = grid_rows([row])
    assert shaped["invoice_date"] == "2011-06-01 10:05"  # Europe/London, summer time
    assert shaped["explanation_text"] == "TotalSpent=1,234.5 (62%)"
    assert shaped["row_id"] == "42"
    assert "explanation" not in shaped


def test_explanation_text_of_none_is_empty() -> None:
    assert explanation_text(None) == "" and explanation_text([]) == ""


def test_columns_cover_every_table_field_with_client_names() -> None:
    columns = column_defs(server_side=True)
    fields = [column["field"] for column in columns]
    assert set(TABLE_FIELDS) <= set(fields) and fields == DRILLDOWN_FIELDS
    by_field = {column["field"]: column for column in columns}
    assert by_field["total_spent"]["headerName"] == "TotalSpent"
    assert by_field["risk_score"]["headerName"] == "RiskScore"
    assert by_field["quantity"]["filter"] == "agNumberColumnFilter"
    assert by_field["explanation_text"]["filter"] is False and by_field["explanation_text"]["sortable"] is False


def test_clicks_point_at_the_triggering_source_first() -> None:
    bar = {"points": [{"customdata": 7, "x": "536365 · 85123A"}]}
    cell = {"rowId": "9", "colId": "description"}
    assert bar_transaction_id(bar) == 7
    assert cell_transaction_id(cell) == 9
    assert clicked_transaction_id("drilldown", bar, cell, None) == 9
    assert clicked_transaction_id("top-anomalies", bar, cell, None) == 7
    assert clicked_transaction_id("score-table", bar, cell, {"rowId": "11"}) == 11
    assert clicked_transaction_id(None, None, cell, None) == 9
    assert clicked_transaction_id(None, None, None, None) is None
    assert bar_transaction_id({"points": []}) is None


def test_triggered_component_reads_the_django_plotly_dash_context() -> None:
    class Context:
        triggered = [{"prop_id": "drilldown.cellClicked", "value": {}}]

    assert triggered_component(Context()) == "drilldown"
    assert triggered_component(None) is None
