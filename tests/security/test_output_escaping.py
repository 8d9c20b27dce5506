"""Text from an uploaded CSV (InvoiceNo, StockCode, Description, Country) reaches Plotly escaped.

Plotly renders a subset of HTML (links, <br>, styles) in hover text, tick labels and annotations;
a row could otherwise add links or fake hover lines such as "<br>RiskScore: 0".
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.figures import anomalies_by_country_figure, top_anomalies_figure

HOSTILE = '<a href="//evil">x</a><br>RiskScore: 0'
ESCAPED = "&lt;a href=&quot;//evil&quot;&gt;x&lt;/a&gt;&lt;br&gt;RiskScore: 0"


def ranked_row(**changes) -> dict:
    row = {
        "transaction_id": 101,
        "customer_id": 12347,
        "invoice_no": "536365",
        "invoice_date": datetime(2011, 1, 2, 10, 30, tzinfo=UTC),
        "stock_code": "85123A",
        "description": "WHITE HEART",
        "quantity": 10,
        "unit_price": 2.5,
        "country": "France",
        "total_spent": 1000.0,
        "hist_freq": 7,
        "unusual_destination": False,
        "quantity_spike": False,
        "risk_score": 1.0,
        "anomaly_score": 0.99,
        "is_common_anomaly": True,
    }
    return {**row, **changes}


def every_text(figure) -> str:
    """All the strings of a figure's dict (data and layout), joined."""
    found: list[str] = []
    pending = [figure.to_plotly_json()]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
        elif hasattr(value, "tolist"):
            pending.append(value.tolist())
    return "\n".join(found)


@pytest.mark.parametrize("column", ["invoice_no", "stock_code", "description", "country"])
def test_hostile_text_in_the_ranking_figure_is_escaped(column) -> None:
    figure = top_anomalies_figure([ranked_row(**{column: HOSTILE})], "TotalSpent", "total_spent", "title")

    text = every_text(figure)
    assert "<a " not in text
    assert ESCAPED in text
    (bar,) = figure.data
    assert bar.hovertext[0].count("<br>") == 4  # the figure's own lines only: no injected "RiskScore: 0" line


def test_hostile_invoice_and_stock_code_are_escaped_in_the_axis_labels() -> None:
    figure = top_anomalies_figure(
        [ranked_row(invoice_no="<b>1</b>", stock_code='<span style="x">2</span>')], "TotalSpent", "total_spent", "t"
    )

    (bar,) = figure.data
    assert list(bar.x) == ["&lt;b&gt;1&lt;/b&gt; · &lt;span style=&quot;x&quot;&gt;2&lt;/span&gt;"]
    assert list(figure.layout.xaxis.categoryarray) == list(bar.x)


def test_hostile_country_is_escaped_in_the_country_figure() -> None:
    figure = anomalies_by_country_figure([{"country": HOSTILE, "flagged": 3, "rows": 10, "common": 1}])

    (bar,) = figure.data
    assert list(bar.y) == [ESCAPED]
    assert bar.hovertext[0].startswith(ESCAPED + ": 3 flagged")
    assert "<a " not in every_text(figure)
