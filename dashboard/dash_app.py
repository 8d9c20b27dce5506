"""The embedded Dash app (django-plotly-dash): layout and thin callbacks over detection.selectors."""

from __future__ import annotations

from typing import Any

import dash.dash
from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate
from django.templatetags.static import static
from django_plotly_dash import DjangoDash

from cases.selectors import case_for_customer
from core.errors import InvalidInput
from decisions.selectors import threshold_view
from detection.grid import scores_page
from detection.selectors import (
    METRICS,
    NoActiveModel,
    anomalies_by_country,
    anomalies_over_time,
    customer_has_scores,
    customers_by_anomalies,
    ranked_anomalies,
    require_active_model_version,
    score_distribution,
    transaction_detail,
)
from transactions.selectors import search_customers

from .components import DETAIL_PROMPT, detail_panel, export_links, layout, message
from .events import clicked_transaction_id, triggered_component
from .figures import (
    anomalies_by_country_figure,
    anomalies_over_time_figure,
    empty_figure,
    flag_threshold,
    score_distribution_figure,
    top_anomalies_figure,
)
from .links import DEFAULT_METRIC, DashboardView, parse_customer
from .tables import grid_rows, page_query

APP_NAME = "AnomalyDashboard"
NO_MODEL = "No model has been trained yet: load data (manage.py ingest_csv) and train (manage.py train_models)."
NOT_A_CUSTOMER = "The chosen customer is not a CustomerID: pick one from the list."

# Dash writes its version-check address (dash-version.plotly.com) into every page's config; the
# renderer calls it only with the dev-tools UI on, which this site never enables. Blank it so that
# no page names an outside host (tests/dashboard/test_page.py checks).
dash.dash.DASH_VERSION_URL = ""

app = DjangoDash(APP_NAME, serve_locally=True, external_stylesheets=[static("dashboard/dash_app.css")])
app.layout = layout()


def ranking_title(metric: str, customer_id: int | None, count: int) -> str:
    whose = f"customer {customer_id}" if customer_id is not None else "all customers"
    return f"Top {count} flagged transactions of {whose} by {metric} (then anomaly_score)"


@app.callback(
    Output("customer", "options"),
    Output("customer", "value"),
    Output("metric", "value"),
    Input("customer", "search_value"),
    Input("url", "search"),
    State("customer", "value"),
)
def customer_choices(
    search_value: str | None, link: str | None, selected: int | None, callback_context: Any = None
) -> tuple[list[dict[str, Any]], Any, Any]:
    """The dropdown's options, and at start the customer and metric the frame's query string names.

    Options and value come in one response: Dash's dropdown clears a value missing from its options,
    so a linked customer outside the initial options must arrive with an option of its own.
    """
    search_value = search_value if isinstance(search_value, str) else None
    try:
        selected = parse_customer(selected)
    except ValueError:
        selected = None
    customer: Any = no_update
    metric: Any = no_update
    if triggered_component(callback_context) in (None, "url"):
        view = DashboardView.from_query(link if isinstance(link, str) else "")
        customer = selected = view.customer
        metric = view.metric
    return customer_options(search_value, selected), customer, metric


def customer_options(search_value: str | None, selected: int | None) -> list[dict[str, Any]]:
    """Options matching the typed CustomerID prefix; before any typing, the most flagged customers.

    `selected` is always among them, so the dropdown can show it.
    """
    if search_value:
        options = [
            {"label": f"{item['customer_id']} · {item['country']}", "value": item["customer_id"]}
            for item in search_customers(search_value)
        ]
    else:
        try:
            options = [
                {"label": f"{item['customer_id']} · {item['flagged']:,} flagged", "value": item["customer_id"]}
                for item in customers_by_anomalies()
            ]
        except NoActiveModel:
            options = []
    if selected is not None and all(option["value"] != selected for option in options):
        options.insert(0, {"label": str(selected), "value": selected})
    return options


@app.callback(
    Output("top-anomalies", "figure"),
    Output("drilldown", "rowData"),
    Output("ranking-message", "children"),
    Input("customer", "value"),
    Input("metric", "value"),
    # open_link sets both at start; an initial call of its own could answer after that one and win.
    prevent_initial_call=True,
)
def update_ranking(customer_id: int | str | None, metric: str | None) -> tuple[Any, list[dict[str, Any]], Any]:
    """The top 10 flagged rows of the customer (or of everyone) by `metric`: bars, table rows, a notice."""
    metric = metric if isinstance(metric, str) and metric in METRICS else DEFAULT_METRIC
    try:
        customer = parse_customer(customer_id)
    except ValueError:
        return empty_figure(NOT_A_CUSTOMER), [], message(NOT_A_CUSTOMER, kind="error")
    try:
        rows = ranked_anomalies(metric=metric, customer_id=customer)
        if not rows:
            if customer is None:
                text = "No transaction has been flagged by either model."
            elif customer_has_scores(customer):
                text = f"Customer {customer} has no anomalies: none of their transactions was flagged."
            else:
                text = f"Customer {customer} has no scored transactions (unknown, or loaded after training)."
            return empty_figure(text), [], message(text, kind="empty")
    except NoActiveModel:
        return empty_figure(NO_MODEL), [], message(NO_MODEL, kind="empty")
    title = ranking_title(metric, customer, len(rows))
    return top_anomalies_figure(rows, metric, METRICS[metric], title), grid_rows(rows), message(title)


@app.callback(Output("export-links", "children"), Input("customer", "value"), Input("metric", "value"))
def update_export_links(customer_id: Any, metric: Any) -> list[Any]:
    """Links to download what the ranking shows, as CSV or Excel."""
    try:
        customer = parse_customer(customer_id)
    except ValueError:
        customer = None
    return export_links(customer, metric if isinstance(metric, str) and metric in METRICS else DEFAULT_METRIC)


@app.callback(
    Output("transaction-detail", "children"),
    Input("top-anomalies", "clickData"),
    Input("drilldown", "cellClicked"),
    Input("score-table", "cellClicked"),
    prevent_initial_call=True,
)
def show_detail(bar_click: Any, drilldown_cell: Any, table_cell: Any, callback_context: Any = None) -> Any:
    """The clicked transaction against its customer's usual values, with a link to the admin."""
    transaction_id = clicked_transaction_id(
        triggered_component(callback_context), bar_click, drilldown_cell, table_cell
    )
    if transaction_id is None:
        return message(DETAIL_PROMPT)
    try:
        detail = transaction_detail(transaction_id)
    except NoActiveModel:
        return message(NO_MODEL, kind="empty")
    if detail is None:
        return message(f"Transaction {transaction_id} has no score under the active model.", kind="empty")
    return detail_panel(detail, case=case_for_customer(detail["row"]["customer_id"]))


@app.callback(
    Output("over-time", "figure"),
    Output("by-country", "figure"),
    Output("score-distribution", "figure"),
    Input("period", "value"),
)
def update_overview(period: str | None) -> tuple[Any, Any, Any]:
    """Anomalies per day or week, by country, and the anomaly_score distribution with its threshold."""
    try:
        version = require_active_model_version()
    except NoActiveModel:
        blank = empty_figure(NO_MODEL)
        return blank, blank, blank
    period = "day" if period == "day" else "week"
    # Both read the daily counts that every score write keeps current: no cache, new scores show at once.
    over_time = anomalies_over_time(period=period, version=version)
    countries = anomalies_by_country(version=version)
    distribution = score_distribution(version)
    threshold = flag_threshold(distribution["quantiles"], float(version.parameters.get("contamination", 0.02)))
    return (
        anomalies_over_time_figure(over_time, period),
        anomalies_by_country_figure(countries),
        score_distribution_figure(distribution, threshold),
    )


@app.callback(Output("score-table", "getRowsResponse"), Input("score-table", "getRowsRequest"))
def table_page(request: dict[str, Any] | None) -> dict[str, Any]:
    """One block of the server-side table: rows sorted, filtered and paged by the selector."""
    if not request:
        raise PreventUpdate
    try:
        query = page_query(request)
        rows, total = scores_page(
            offset=query.offset, limit=query.limit, order_by=query.order_by, filters=query.filters
        )
    except (ValueError, TypeError, NoActiveModel):
        return {"rowData": [], "rowCount": 0}
    return {"rowData": grid_rows(rows), "rowCount": total}


def _risk_threshold(value: Any) -> int | None:
    """A slider value as a 0..99 risk score, or None when a request sends anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return int(value) if 0 <= value <= 99 else None


@app.callback(Output("threshold-effect", "children"), Input("review-at", "value"), Input("block-at", "value"))
def threshold_effect(review_at: int | None, block_at: int | None) -> Any:
    """Alerts per day, labelled fraud caught and false positives for the two thresholds (thresholds alone)."""
    thresholds = [_risk_threshold(value) for value in (review_at, block_at)]
    if None in thresholds:
        return message("Thresholds are whole numbers from 0 to 99.", kind="empty")
    try:
        view = threshold_view(review_at=thresholds[0], block_at=thresholds[1])
    except InvalidInput as exc:
        return message(exc.message, kind="empty")
    except NoActiveModel:
        return message(NO_MODEL, kind="empty")
    if view["review_at"] > view["block_at"]:
        return message("Review at must not be above block at.", kind="empty")
    caught = "no labelled fraud yet" if view["fraud_caught_share"] is None else f"{view['fraud_caught_share']:.0%}"
    return message(
        f"{view['alerts_per_day']:,} alerts per day ({view['reviews']:,} reviews, {view['blocks']:,} blocks over "
        f"{view['days']} days); labelled fraud caught: {view['fraud_caught']:,} of {view['labelled_fraud']:,} "
        f"({caught}); false positives among the alerts: {view['false_positives']:,}."
    )
