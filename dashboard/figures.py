"""Plotly figures of the dashboard, built from selector rows: plain functions, no database."""

from __future__ import annotations

import html
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import plotly.graph_objects as go

# Metrics that are 0/1 flags: their bars show anomaly_score, coloured by the flag.
FLAG_METRICS = {"UnusualDestination", "QuantitySpike"}
FLAGGED_COLOUR = "#c0392b"
COMMON_COLOUR = "#7d3c98"
NEUTRAL_COLOUR = "#5d6d7e"
THRESHOLD_COLOUR = "#e67e22"
_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 60}


def plotly_text(value: Any) -> str:
    """`value` as text safe inside Plotly labels and hover text, which render a subset of HTML.

    Data from an uploaded file (InvoiceNo, StockCode, Description, Country) goes through this, so
    that it cannot add links, styles or hover lines; Plotly shows the entities as the characters.
    """
    return html.escape(str(value))


def _base_layout(figure: go.Figure, title: str) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        margin=_MARGIN,
        hoverlabel={"align": "left"},
    )
    return figure


def empty_figure(message: str) -> go.Figure:
    """A blank figure (no axes) showing `message` in its middle."""
    figure = go.Figure()
    figure.update_layout(
        template="plotly_white",
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin=_MARGIN,
        annotations=[
            {
                "text": message,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 15, "color": NEUTRAL_COLOUR},
            }
        ],
    )
    return figure


def bar_label(row: dict[str, Any]) -> str:
    """The x-axis label of one ranked row: invoice and stock code (an invoice has several lines)."""
    return f"{plotly_text(row['invoice_no'])} · {plotly_text(row['stock_code'])}"


def top_anomalies_figure(rows: Sequence[dict[str, Any]], metric: str, metric_column: str, title: str) -> go.Figure:
    """Bars of the ranked rows in rank order, one per transaction; customdata holds transaction_id.

    Numeric metrics (TotalSpent, HistFreq) are the bar heights; for flag metrics the heights are
    anomaly_score and the colour says whether the flag is set.
    """
    if not rows:
        return empty_figure("No anomalies to show.")
    labels = [bar_label(row) for row in rows]
    is_flag_metric = metric in FLAG_METRICS
    heights = [row["anomaly_score"] if is_flag_metric else row[metric_column] for row in rows]
    if is_flag_metric:
        colours = [FLAGGED_COLOUR if row[metric_column] else NEUTRAL_COLOUR for row in rows]
    else:
        colours = [COMMON_COLOUR if row["is_common_anomaly"] else FLAGGED_COLOUR for row in rows]
    hover = [
        (
            f"<b>{plotly_text(row['invoice_no'])}</b> {plotly_text(row['description'])}<br>"
            f"customer {row['customer_id']} · {plotly_text(row['country'])}<br>"
            f"{metric}: {row[metric_column]}<br>anomaly_score: {row['anomaly_score']:.3f}<br>"
            f"RiskScore: {row['risk_score']:.0f}"
        )
        for row in rows
    ]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=heights,
            marker={"color": colours},
            customdata=[row["transaction_id"] for row in rows],
            hovertext=hover,
            hoverinfo="text",
            name=metric,
        )
    )
    _base_layout(figure, title)
    figure.update_xaxes(type="category", categoryorder="array", categoryarray=labels, tickangle=-30)
    figure.update_yaxes(title_text="anomaly_score" if is_flag_metric else metric)
    figure.update_layout(clickmode="event", showlegend=False)
    return figure


def anomalies_over_time_figure(rows: Sequence[dict[str, Any]], period: str) -> go.Figure:
    """Flagged rows and common anomalies per `period` ("day" or "week") as lines."""
    if not rows:
        return empty_figure("No scored transactions yet.")
    periods = [row["period"] for row in rows]
    lines = [("flagged", "flagged by either model", FLAGGED_COLOUR), ("common", "flagged by both", COMMON_COLOUR)]
    figure = go.Figure(
        [
            go.Scatter(x=periods, y=[row[key] for row in rows], name=name, mode="lines", line={"color": colour})
            for key, name, colour in lines
        ]
    )
    _base_layout(figure, f"Anomalies per {period}")
    figure.update_yaxes(title_text="transactions", rangemode="tozero")
    figure.update_layout(legend={"orientation": "h", "y": -0.2})
    return figure


def anomalies_by_country_figure(rows: Sequence[dict[str, Any]], limit: int = 15) -> go.Figure:
    """Horizontal bars of flagged rows for the `limit` countries with most, the most at the top."""
    shown = [row for row in rows if row["flagged"]][:limit]
    if not shown:
        return empty_figure("No flagged transactions yet.")
    shown = shown[::-1]
    figure = go.Figure(
        go.Bar(
            x=[row["flagged"] for row in shown],
            y=[plotly_text(row["country"]) for row in shown],
            orientation="h",
            marker={"color": FLAGGED_COLOUR},
            hovertext=[
                f"{plotly_text(row['country'])}: {row['flagged']:,} flagged of {row['rows']:,} "
                f"({row['flagged'] / row['rows']:.1%}); {row['common']:,} by both models"
                for row in shown
            ],
            hoverinfo="text",
        )
    )
    _base_layout(figure, f"Flagged transactions by country (top {len(shown)})")
    figure.update_xaxes(title_text="flagged transactions")
    figure.update_yaxes(type="category")
    return figure


def flag_threshold(quantiles: dict[str, float], contamination: float) -> tuple[str, float] | None:
    """The stored anomaly_score quantile matching the training contamination, as (name, value).

    Each model flags its top `contamination` share; the same share of anomaly_score lies above
    this quantile (p98 for the default 2 %). None when that quantile was not stored.
    """
    name = f"p{round((1 - contamination) * 100)}"
    value = quantiles.get(name)
    return (name, float(value)) if value is not None else None


def score_distribution_figure(distribution: dict[str, Any], threshold: tuple[str, float] | None) -> go.Figure:
    """The anomaly_score histogram stored at training, with the threshold drawn as a vertical line."""
    edges = distribution["histogram"]["edges"]
    counts = distribution["histogram"]["counts"]
    if not counts or sum(counts) == 0:
        return empty_figure("No score distribution stored for this model.")
    centres = [(low + high) / 2 for low, high in pairwise(edges)]
    widths = [high - low for low, high in pairwise(edges)]
    figure = go.Figure(
        go.Bar(
            x=centres,
            y=counts,
            width=widths,
            marker={"color": NEUTRAL_COLOUR},
            name="transactions",
            hovertemplate="anomaly_score %{x:.3f}: %{y:,} transactions<extra></extra>",
        )
    )
    _base_layout(figure, "Distribution of anomaly_score")
    figure.update_xaxes(title_text="anomaly_score", range=[0, 1])
    figure.update_yaxes(title_text="transactions")
    if threshold is not None:
        name, value = threshold
        figure.add_vline(
            x=value,
            line={"color": THRESHOLD_COLOUR, "width": 2, "dash": "dash"},
            annotation_text=f"threshold {name} = {value:.3f}",
            annotation_position="top left",
        )
    return figure
