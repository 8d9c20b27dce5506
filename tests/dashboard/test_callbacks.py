"""The Dash callbacks called directly: the seed's dropdown combinations and every empty state."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from dashboard.dash_app import (
    NO_MODEL,
    customer_choices,
    customer_options,
    show_detail,
    table_page,
    update_overview,
    update_ranking,
)
from detection.fields import METRICS
from detection.models import ModelVersion, TransactionScore
from detection.selectors import ranked_anomalies
from transactions.services import ingest_file

pytestmark = pytest.mark.django_db


def text_of(component: Any) -> str:
    """All text inside a Dash component tree."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(item) for item in component)
    return text_of(getattr(component, "children", None))


def find(component: Any, component_id: str) -> Any:
    """The component with `component_id` inside a Dash component tree, or None."""
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = find(child, component_id)
            if found is not None:
                return found
    return None


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("with_customer", [False, True], ids=["all-customers", "one-customer"])
def test_ranking_shows_the_same_top_rows_in_chart_and_table(
    trained_version: ModelVersion, busiest_customer: int, metric: str, with_customer: bool
) -> None:
    customer = busiest_customer if with_customer else None
    figure, rows, notice = update_ranking(customer, metric)

    expected = ranked_anomalies(metric=metric, customer_id=customer)
    assert 2 <= len(expected) <= 10
    (bar,) = figure.data
    assert list(bar.customdata) == [row["transaction_id"] for row in expected]
    assert list(bar.x) == [f"{row['invoice_no']} · {row['stock_code']}" for row in expected]
    assert [row["transaction_id"] for row in rows] == [row["transaction_id"] for row in expected]
    column = METRICS[metric]
    values = [row[column] for row in rows]
    assert values == sorted(values, reverse=True)
    flagged = TransactionScore.objects.filter(transaction_id__in=[row["transaction_id"] for row in rows])
    assert all(flagged.values_list("is_flagged", flat=True))
    if with_customer:
        assert {row["customer_id"] for row in rows} == {busiest_customer}
        assert f"customer {busiest_customer}" in text_of(notice)
    else:
        assert len(rows) == 10 and "all customers" in text_of(notice)
    assert f"by {metric}" in text_of(notice)


def test_customer_id_as_text_and_unknown_metric_fall_back_sensibly(
    trained_version: ModelVersion, busiest_customer: int
) -> None:
    _, rows, notice = update_ranking(str(busiest_customer), "NotAMetric")
    assert [row["transaction_id"] for row in rows] == [
        row["transaction_id"] for row in ranked_anomalies(metric="TotalSpent", customer_id=busiest_customer)
    ]
    assert "by TotalSpent" in text_of(notice)


def test_customer_with_no_anomalies_gets_a_message_not_a_blank_chart(
    trained_version: ModelVersion, quiet_customer: int
) -> None:
    figure, rows, notice = update_ranking(quiet_customer, "TotalSpent")

    text = f"Customer {quiet_customer} has no anomalies: none of their transactions was flagged."
    assert rows == [] and not figure.data
    assert figure.layout.annotations[0].text == text
    assert text_of(notice) == text and "message-empty" in notice.className


def test_unknown_customer_says_it_has_no_scored_transactions(trained_version: ModelVersion) -> None:
    figure, rows, notice = update_ranking(99999, "HistFreq")
    assert rows == [] and not figure.data
    assert text_of(notice) == "Customer 99999 has no scored transactions (unknown, or loaded after training)."


def test_every_callback_explains_there_is_no_model_on_an_empty_database(db) -> None:
    figure, rows, notice = update_ranking(None, "TotalSpent")
    assert rows == [] and figure.layout.annotations[0].text == NO_MODEL and text_of(notice) == NO_MODEL

    for overview in update_overview("week"):
        assert overview.layout.annotations[0].text == NO_MODEL
    assert table_page({"startRow": 0, "endRow": 100}) == {"rowData": [], "rowCount": 0}
    assert customer_options(None, None) == []
    assert text_of(show_detail({"points": [{"customdata": 1}]}, None, None)) == NO_MODEL


def test_loaded_but_untrained_data_shows_the_no_model_message(db, demo_csv) -> None:
    ingest_file(demo_csv)
    _, rows, notice = update_ranking(None, "QuantitySpike")
    assert rows == [] and text_of(notice) == NO_MODEL


def test_customer_options_load_by_search_and_keep_the_selection(
    trained_version: ModelVersion, busiest_customer: int
) -> None:
    first = customer_options(None, None)
    assert 1 <= len(first) <= 20 and first[0]["value"] == busiest_customer
    assert "flagged" in first[0]["label"]

    prefix = str(busiest_customer)[:3]
    found = customer_options(prefix, None)
    assert found and all(str(option["value"]).startswith(prefix) for option in found)
    assert [option["value"] for option in found] == sorted(option["value"] for option in found)

    kept = customer_options("99999", busiest_customer)
    assert kept == [{"label": str(busiest_customer), "value": busiest_customer}]


def test_a_link_sets_the_customer_with_an_option_of_its_own_and_the_metric(trained_version: ModelVersion) -> None:
    options, customer, metric = customer_choices(None, "?customer=99999&metric=HistFreq", None)
    assert (customer, metric) == (99999, "HistFreq")
    assert options[0] == {"label": "99999", "value": 99999}
    assert customer_choices(None, "?customer=12a&metric=nope", None)[1:] == (None, "TotalSpent")


def test_typing_a_search_keeps_the_chosen_customer_and_metric(trained_version: ModelVersion) -> None:
    typed = SimpleNamespace(triggered=[{"prop_id": "customer.search_value", "value": "12"}])
    options, customer, metric = customer_choices("12", "?customer=99999", 99999, callback_context=typed)
    assert customer is no_update and metric is no_update
    assert options[0]["value"] == 99999


def test_clicking_a_bar_or_a_row_shows_the_transaction_and_its_admin_link(
    trained_version: ModelVersion, busiest_customer: int
) -> None:
    figure, rows, _ = update_ranking(busiest_customer, "TotalSpent")
    bar_click = {"points": [{"customdata": figure.data[0].customdata[1]}]}
    row_click = {"rowId": rows[0]["row_id"], "colId": "description"}

    class Clicked:
        triggered = [{"prop_id": "drilldown.cellClicked"}]

    from_bar = show_detail(bar_click, None, None)
    from_row = show_detail(bar_click, row_click, None, callback_context=Clicked())

    second, first = rows[1], rows[0]
    assert f"Invoice {second['invoice_no']}" in text_of(from_bar)
    assert f"Invoice {first['invoice_no']}" in text_of(from_row)
    link = find(from_row, "admin-link")
    assert link.href == f"/admin/transactions/transaction/{first['transaction_id']}/change/"
    assert "Customer's usual" in text_of(from_row)


def test_detail_of_an_unscored_transaction_says_so(trained_version: ModelVersion) -> None:
    panel = show_detail({"points": [{"customdata": 10_000_000}]}, None, None)
    assert text_of(panel) == "Transaction 10000000 has no score under the active model."


def test_overview_counts_match_the_stored_scores(trained_version: ModelVersion) -> None:
    over_time, by_country, distribution = update_overview("week")

    flagged, common = over_time.data
    scores = TransactionScore.objects.filter(model_version=trained_version)
    assert sum(flagged.y) == scores.filter(is_flagged=True).count()
    assert sum(common.y) == scores.filter(is_common_anomaly=True).count()
    assert sum(by_country.data[0].x) == scores.filter(is_flagged=True).count()
    assert sum(distribution.data[0].y) == scores.count()
    (line,) = distribution.layout.shapes
    assert line.x0 == trained_version.metrics["anomaly_score_quantiles"]["p98"]

    per_day, _, _ = update_overview("day")
    assert sum(per_day.data[0].y) == sum(flagged.y) and len(per_day.data[0].x) > len(flagged.x)


def test_table_pages_sort_and_filter_on_the_server(trained_version: ModelVersion, busiest_customer: int) -> None:
    scores = TransactionScore.objects.filter(model_version=trained_version)
    response = table_page(
        {
            "startRow": 0,
            "endRow": 100,
            "sortModel": [{"colId": "total_spent", "sort": "desc"}],
            "filterModel": {"customer_id": {"filterType": "number", "type": "equals", "filter": busiest_customer}},
        }
    )
    assert response["rowCount"] == scores.filter(customer_id=busiest_customer).count()
    spent = [row["total_spent"] for row in response["rowData"]]
    assert spent == sorted(spent, reverse=True)
    assert {row["customer_id"] for row in response["rowData"]} == {busiest_customer}

    second = table_page({"startRow": 100, "endRow": 200, "sortModel": [], "filterModel": {}})
    first = table_page({"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}})
    assert second["rowCount"] == first["rowCount"] == scores.count()
    assert not {row["row_id"] for row in first["rowData"]} & {row["row_id"] for row in second["rowData"]}
    assert first["rowData"][0]["anomaly_score"] == max(scores.values_list("anomaly_score", flat=True))


def test_table_answers_an_unsupported_request_with_no_rows(trained_version: ModelVersion) -> None:
    bad = {"startRow": 0, "endRow": 100, "filterModel": {"explanation": {"filterType": "text", "type": "contains"}}}
    assert table_page(bad) == {"rowData": [], "rowCount": 0}
    with pytest.raises(PreventUpdate):
        table_page(None)
