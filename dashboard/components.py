"""Dash components of the dashboard: the page layout and the transaction detail panel."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_ag_grid as dag
from dash import dcc, html
from django.urls import reverse

from detection.fields import FEATURE_COLUMNS, METRICS, PAYLOAD_NAMES, explanation_text, reasons_text

from .figures import empty_figure
from .tables import PAGE_SIZE, column_defs, local_time

GRAPH_CONFIG = {"displaylogo": False, "responsive": True}
DETAIL_PROMPT = "Click a bar or a table row to see that transaction against the customer's usual values."


def message(text: str, *, kind: str = "info") -> html.Div:
    """A one-line notice; `kind` is info, empty or error (a CSS class)."""
    return html.Div(text, className=f"message message-{kind}")


def graph(component_id: str, *, height: int) -> dcc.Graph:
    return dcc.Graph(
        id=component_id,
        figure=empty_figure("Loading…"),
        config=GRAPH_CONFIG,
        style={"height": f"{height}px"},
    )


def controls() -> html.Div:
    return html.Div(
        [
            html.Label(
                [
                    "Customer",
                    dcc.Dropdown(
                        id="customer",
                        options=[],
                        value=None,  # set from the frame's query string by the open_link callback
                        searchable=True,
                        clearable=True,
                        placeholder="All customers: type a CustomerID to search",
                    ),
                ],
                className="control control-customer",
            ),
            html.Label(
                [
                    "Metric",
                    dcc.Dropdown(
                        id="metric",
                        options=[{"label": name, "value": name} for name in METRICS],
                        value="TotalSpent",
                        clearable=False,
                        searchable=False,
                    ),
                ],
                className="control control-metric",
            ),
        ],
        className="controls",
    )


def threshold_panel() -> html.Section:
    """Two sliders on the 0-99 risk score and what they would do (decisions.selectors.threshold_view)."""
    marks = {value: str(value) for value in range(0, 100, 10)}
    return html.Section(
        [
            html.H3("Decision thresholds: what review and block at these risk scores would do"),
            html.Label(["Review at", dcc.Slider(id="review-at", min=0, max=99, step=1, value=65, marks=marks)]),
            html.Label(["Block at", dcc.Slider(id="block-at", min=0, max=99, step=1, value=75, marks=marks)]),
            html.Div(id="threshold-effect"),
        ],
        className="panel",
    )


def layout() -> html.Div:
    """The whole app: controls, ranking chart and table, detail, overview charts, all-rows table."""
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            html.Section(
                [
                    controls(),
                    html.Div(id="ranking-message", className="ranking-message"),
                    html.Div(id="export-links", className="export-links"),
                    graph("top-anomalies", height=380),
                    html.H3("These transactions in detail"),
                    dag.AgGrid(
                        id="drilldown",
                        columnDefs=column_defs(server_side=False),
                        rowData=[],
                        getRowId="params.data.row_id",
                        defaultColDef={"resizable": True},
                        columnSize="autoSize",
                        dashGridOptions={"domLayout": "autoHeight", "suppressColumnVirtualisation": True},
                        style={"height": None},
                    ),
                ],
                className="panel",
            ),
            html.Section(
                [html.H3("Transaction detail"), html.Div(message(DETAIL_PROMPT), id="transaction-detail")],
                className="panel",
            ),
            html.Section(
                [
                    html.Div(
                        [
                            html.Span("Anomalies over time, per "),
                            dcc.RadioItems(
                                id="period",
                                options=[{"label": "week", "value": "week"}, {"label": "day", "value": "day"}],
                                value="week",
                                inline=True,
                            ),
                        ],
                        className="period",
                    ),
                    graph("over-time", height=320),
                    html.Div(
                        [graph("by-country", height=420), graph("score-distribution", height=420)],
                        className="two-columns",
                    ),
                ],
                className="panel",
            ),
            threshold_panel(),
            html.Section(
                [
                    html.H3("All scored transactions"),
                    html.P(
                        "Sorted, filtered and paged on the server: click a header to sort, use its menu to filter.",
                        className="hint",
                    ),
                    dag.AgGrid(
                        id="score-table",
                        rowModelType="infinite",
                        columnDefs=column_defs(server_side=True),
                        getRowId="params.data.row_id",
                        defaultColDef={"resizable": True, "minWidth": 90},
                        dashGridOptions={
                            "pagination": True,
                            "paginationPageSize": PAGE_SIZE,
                            "cacheBlockSize": PAGE_SIZE,
                            "maxBlocksInCache": 20,
                            "infiniteInitialRowCount": PAGE_SIZE,
                            "rowBuffer": 0,
                            "suppressColumnVirtualisation": True,
                        },
                        style={"height": "560px"},
                    ),
                ],
                className="panel",
            ),
        ],
        className="dashboard",
    )


def admin_change_url(transaction_id: int) -> str:
    return reverse("admin:transactions_transaction_change", args=[transaction_id])


def _number(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def export_links(customer_id: int | None, metric: str) -> list[Any]:
    """Download links for the drill-down shown (and the customer's transactions when one is chosen)."""
    query = urlencode({"metric": metric, **({"customer": customer_id} if customer_id is not None else {})})
    links: list[Any] = ["Export this drill-down: "]
    for file_format, label in (("csv", "CSV"), ("xlsx", "Excel")):
        url = reverse("exports:drilldown", args=[file_format])
        links += [html.A(label, href=f"{url}?{query}", id=f"export-drilldown-{file_format}", download=""), " "]
    if customer_id is not None:
        profile = reverse("profiles:customer", args=[customer_id])
        links += ["· ", html.A(f"customer {customer_id}'s profile", href=profile, target="_blank", id="profile-link")]
        links.append(" · their transactions: ")
        for file_format, label in (("csv", "CSV"), ("xlsx", "Excel")):
            url = reverse("exports:customer", args=[customer_id, file_format])
            links += [html.A(label, href=url, id=f"export-customer-{file_format}", download=""), " "]
    return links


def case_link(case: dict[str, Any] | None) -> html.A | None:
    """A link to the customer's case in the admin (`cases.selectors.case_for_customer`), or None."""
    if case is None:
        return None
    url = reverse("admin:cases_case_change", args=[case["id"]])
    return html.A(f"Case #{case['id']} ({case['label']})", href=url, target="_blank", rel="noopener", id="case-link")


def detail_panel(detail: dict[str, Any], case: dict[str, Any] | None = None) -> html.Div:
    """The transaction's features against the customer's means, its scores, explanation, admin and case links."""
    row = detail["row"]
    usual = detail["customer_usual"]
    comparison = [
        ("TotalSpent", row["total_spent"], usual["total_spent"]),
        ("TransactionHour", row["transaction_hour"], usual["transaction_hour"]),
        ("PriceDeviation", row["price_deviation"], usual["price_deviation"]),
    ]
    compared = {"total_spent", "transaction_hour", "price_deviation"}
    facts = [
        ("Quantity", row["quantity"]),
        ("UnitPrice", row["unit_price"]),
        *((PAYLOAD_NAMES[key], row[key]) for key in FEATURE_COLUMNS if key not in compared | {"transaction_day"}),
        ("Isolation Forest score / flag", f"{row['iso_forest_score']:.3f} / {_number(row['iso_forest_flag'])}"),
        ("Autoencoder score / flag", f"{row['autoencoder_score']:.3f} / {_number(row['autoencoder_flag'])}"),
        ("anomaly_score", f"{row['anomaly_score']:.3f}"),
        ("RiskScore", _number(row["risk_score"], 0)),
        ("Flagged by both models", row["is_common_anomaly"]),
    ]
    return html.Div(
        [
            html.H4(
                f"Invoice {row['invoice_no']} · {row['stock_code']} {row['description']} · "
                f"customer {row['customer_id']} · {row['country']} · {local_time(row['invoice_date'])}"
            ),
            html.Table(
                [
                    html.Thead(html.Tr([html.Th("Feature"), html.Th("This transaction"), html.Th("Customer's usual")])),
                    html.Tbody(
                        [
                            html.Tr([html.Td(name), html.Td(_number(value)), html.Td(_number(mean))])
                            for name, value, mean in comparison
                        ]
                    ),
                ],
                className="comparison",
            ),
            html.P(
                f"Customer's usual: mean over their {usual['lines']:,} scored rows, "
                f"of which {usual['flagged']:,} flagged.",
                className="hint",
            ),
            html.Dl(
                [part for name, value in facts for part in (html.Dt(name), html.Dd(_number(value)))],
                className="facts",
            ),
            html.P(["Why flagged: ", reasons_text(row.get("flag_reasons")) or "not flagged, none stored"]),
            html.P(["Kind: ", str(row.get("kind") or "sale")]),
            html.P(["Explanation: ", explanation_text(row["explanation"]) or "not flagged, none stored"]),
            html.A(
                "Review this transaction in the admin",
                href=admin_change_url(row["transaction_id"]),
                target="_blank",
                rel="noopener",
                id="admin-link",
                className="admin-link",
            ),
            " · ",
            html.A(
                "Customer profile",
                href=reverse("profiles:customer", args=[row["customer_id"]]),
                target="_blank",
                rel="noopener",
                id="detail-profile-link",
            ),
            *([html.P(["This customer's case: ", case_link(case)])] if case else []),
        ],
        className="detail",
    )
