"""Figure-building functions: plain data in, plotly figures out (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.figures import (
    COMMON_COLOUR,
    FLAGGED_COLOUR,
    NEUTRAL_COLOUR,
    anomalies_by_country_figure,
    anomalies_over_time_figure,
    empty_figure,
    flag_threshold,
    score_distribution_figure,
    top_anomalies_figure,
)


def ranked_row(index: int, **changes) -> dict:
    row = {
        "transaction_id": 100 + index,
        "customer_id": 12347,
        "invoice_no": f"5360{index:02d}",
        "invoice_date": datetime(2011, 1, 2, 10, 30, tzinfo=UTC),
        "stock_code": f"SC{index}",
        "description": f"ITEM {index}",
        "quantity": 10 * (index + 1),
        "unit_price": 2.5,
        "country": "France",
        "total_spent": 1000.0 - index * 50,
        "hist_freq": 7,
        "unusual_destination": index % 2 == 0,
        "quantity_spike": False,
        "risk_score": 1.0,
        "anomaly_score": 0.99 - index * 0.01,
        "is_common_anomaly": index == 0,
    }
    row.update(changes)
    return row


def test_top_anomalies_has_one_bar_per_row_in_rank_order_with_transaction_ids() -> None:
    rows = [ranked_row(index) for index in range(10)]
    figure = top_anomalies_figure(rows, "TotalSpent", "total_spent", "title")

    (bar,) = figure.data
    assert list(bar.x) == [f"5360{index:02d} · SC{index}" for index in range(10)]
    assert list(bar.y) == [1000.0 - index * 50 for index in range(10)]
    assert list(bar.customdata) == list(range(100, 110))
    assert list(figure.layout.xaxis.categoryarray) == list(bar.x)
    assert bar.marker.color[0] == COMMON_COLOUR and set(bar.marker.color[1:]) == {FLAGGED_COLOUR}
    assert figure.layout.title.text == "title"


def test_flag_metric_bars_show_anomaly_score_coloured_by_the_flag() -> None:
    rows = [ranked_row(index) for index in range(4)]
    figure = top_anomalies_figure(rows, "UnusualDestination", "unusual_destination", "t")

    (bar,) = figure.data
    assert list(bar.y) == pytest.approx([0.99, 0.98, 0.97, 0.96])
    assert list(bar.marker.color) == [FLAGGED_COLOUR, NEUTRAL_COLOUR, FLAGGED_COLOUR, NEUTRAL_COLOUR]
    assert figure.layout.yaxis.title.text == "anomaly_score"


def test_no_rows_give_a_message_instead_of_empty_axes() -> None:
    figure = top_anomalies_figure([], "TotalSpent", "total_spent", "t")
    assert not figure.data
    assert figure.layout.annotations[0].text == "No anomalies to show."
    assert figure.layout.xaxis.visible is False


def test_empty_figure_shows_its_message() -> None:
    figure = empty_figure("No model has been trained yet.")
    assert [item.text for item in figure.layout.annotations] == ["No model has been trained yet."]


def test_over_time_plots_flagged_and_common_per_period() -> None:
    rows = [
        {"period": datetime(2011, 1, 3, tzinfo=UTC), "rows": 500, "flagged": 12, "common": 3},
        {"period": datetime(2011, 1, 10, tzinfo=UTC), "rows": 450, "flagged": 9, "common": 1},
    ]
    figure = anomalies_over_time_figure(rows, "week")

    flagged, common = figure.data
    assert list(flagged.y) == [12, 9] and list(common.y) == [3, 1]
    assert len(flagged.x) == 2
    assert figure.layout.title.text == "Anomalies per week"
    assert anomalies_over_time_figure([], "day").layout.annotations[0].text == "No scored transactions yet."


def test_by_country_keeps_the_most_flagged_countries_largest_on_top() -> None:
    rows = [{"country": f"Country {index}", "rows": 1000, "flagged": 100 - index, "common": 1} for index in range(20)]
    rows.append({"country": "Quiet", "rows": 10, "flagged": 0, "common": 0})
    figure = anomalies_by_country_figure(rows, limit=15)

    (bar,) = figure.data
    assert len(bar.y) == 15
    assert bar.y[-1] == "Country 0" and bar.x[-1] == 100
    assert "Quiet" not in bar.y
    assert "10.0%" in bar.hovertext[-1]


def test_flag_threshold_reads_the_quantile_of_the_training_contamination() -> None:
    quantiles = {"p50": 0.49, "p90": 0.85, "p98": 0.962, "p99": 0.9756}
    assert flag_threshold(quantiles, 0.02) == ("p98", 0.962)
    assert flag_threshold(quantiles, 0.01) == ("p99", 0.9756)
    assert flag_threshold(quantiles, 0.05) is None


def test_score_distribution_draws_the_histogram_and_the_threshold_line() -> None:
    distribution = {
        "histogram": {"edges": [0.0, 0.25, 0.5, 0.75, 1.0], "counts": [10, 40, 30, 5]},
        "quantiles": {"p98": 0.9},
    }
    figure = score_distribution_figure(distribution, ("p98", 0.9))

    (bar,) = figure.data
    assert list(bar.x) == [0.125, 0.375, 0.625, 0.875]
    assert list(bar.y) == [10, 40, 30, 5]
    (line,) = figure.layout.shapes
    assert line.x0 == line.x1 == 0.9
    assert figure.layout.annotations[0].text == "threshold p98 = 0.900"


def test_score_distribution_without_counts_says_so() -> None:
    figure = score_distribution_figure({"histogram": {"edges": [], "counts": []}, "quantiles": {}}, None)
    assert figure.layout.annotations[0].text == "No score distribution stored for this model."
