"""Burst evidence against a customer's own spread of invoice counts (history_stats.count_surprise):
small generated frames, no database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nbinom, poisson

from detection.bundle import ScoringBundle
from detection.history import fit_priors, history_features
from detection.history_priors import HistoryPriors
from detection.history_stats import _poisson_surprise, count_surprise
from detection.kinds import line_kinds

from .factories import frame, line, whole_past

BUSY, STEADY = 1, 2


def test_count_surprise_is_a_negative_binomial_tail_when_counts_spread_beyond_poisson() -> None:
    count = np.array([0, 3, 8, 8, 2])
    mean = np.array([0.3, 0.3, 1.0, 1.0, 0.5])
    square = np.array([0.6, 0.6, 4.0, 1.5, 0.6])  # variances 0.51, 0.51, 3.0, 0.5 (< mean), 0.35 (< mean)
    surprise = count_surprise(count, mean, square)
    variance = square - mean**2
    size = mean**2 / (variance - mean)
    expected = [
        0.0,
        -np.log(nbinom.sf(2, size[1], size[1] / (size[1] + mean[1]))),
        -np.log(nbinom.sf(7, size[2], size[2] / (size[2] + mean[2]))),
        -np.log(poisson.sf(7, mean[3])),
        -np.log(poisson.sf(1, mean[4])),
    ]
    np.testing.assert_allclose(surprise, expected, rtol=1e-9)
    np.testing.assert_array_equal(count_surprise(count, mean, None), _poisson_surprise(count, mean))


def _shop() -> pd.DataFrame:
    """Customer BUSY buys weekly, with a busy day (five invoices within two hours) every fifth week;
    STEADY buys one invoice every few days; twenty others weekly. Then each has five invoices in one
    day, the last of an item not sold that day."""
    lines = []
    start = pd.Timestamp("2011-01-03 09:00")
    for week in range(20):
        for n in range(5 if week % 5 == 0 else 1):
            when = start + pd.Timedelta(weeks=week, minutes=25 * n)
            lines.append(line(invoice_no=f"B{week}-{n}", when=str(when), customer_id=BUSY))
    for n in range(25):
        lines.append(line(invoice_no=f"S{n}", when=str(start + pd.Timedelta(days=5 * n + 1)), customer_id=STEADY))
    for customer in range(10, 30):
        for week in range(20):
            when = start + pd.Timedelta(weeks=week, days=customer % 5, hours=customer % 7)
            lines.append(line(invoice_no=f"W{customer}-{week}", when=str(when), customer_id=customer))
    for customer in (BUSY, STEADY):
        for n in range(5):
            when = pd.Timestamp("2011-06-01 10:00") + pd.Timedelta(hours=2 * n)
            stock_code = f"9000{customer}" if n == 4 else "85123A"
            lines.append(
                line(invoice_no=f"D{customer}-{n}", when=str(when), customer_id=customer, stock_code=stock_code)
            )
    rows = frame(*lines)
    return rows.assign(kind=line_kinds(rows))


def _last_invoice(rows: pd.DataFrame, customer: int) -> np.ndarray:
    return (rows["invoice_no"] == f"D{customer}-4").to_numpy()


def test_a_customer_with_busy_days_gets_less_burst_evidence_than_poisson_would_give() -> None:
    rows = _shop()
    features = history_features(rows, priors=fit_priors(rows))
    busy, steady = features[_last_invoice(rows, BUSY)].iloc[0], features[_last_invoice(rows, STEADY)].iloc[0]
    assert busy["invoices_last_24h"] == steady["invoices_last_24h"] == 4
    poisson_busy = _poisson_surprise(np.array([4]), np.array([busy["usual_last_24h"]]))[0]
    poisson_steady = _poisson_surprise(np.array([4]), np.array([steady["usual_last_24h"]]))[0]
    assert busy["burst_surprise"] < poisson_busy - 1.0  # their counts spread far beyond Poisson's
    assert steady["burst_surprise"] > busy["burst_surprise"] + 1.5  # four in a day is news from STEADY
    assert steady["burst_surprise"] <= poisson_steady  # the shop's spread is its prior


def test_versions_saved_before_keep_poisson_burst_evidence() -> None:
    rows = _shop()
    saved = fit_priors(rows).to_dict()
    saved.pop("day_square_mean")
    priors = HistoryPriors.from_dict(saved)  # as priors.json of a version saved before
    features = history_features(rows, priors=priors)
    busy = features[_last_invoice(rows, BUSY)].iloc[0]
    expected = max(
        _poisson_surprise(np.array([busy["invoices_last_hour"]]), np.array([busy["usual_last_hour"]]))[0],
        _poisson_surprise(np.array([busy["invoices_last_24h"]]), np.array([busy["usual_last_24h"]]))[0],
    )
    assert busy["burst_surprise"] == pytest.approx(expected, rel=1e-12)


def test_the_history_state_gives_the_same_burst_evidence_for_a_new_invoice() -> None:
    rows = _shop()
    history, new = rows[rows["invoice_no"] != f"D{BUSY}-4"], rows[_last_invoice(rows, BUSY)]
    priors = fit_priors(history)
    with_index = history.assign(
        quantity_vs_item=history_features(history, priors=priors)["quantity_vs_item"].to_numpy()
    )
    state = ScoringBundle(fused=None, priors=priors, history=with_index).state
    fast = state.features(new, priors)
    full = history_features(new, past=whole_past(with_index, new), priors=priors)
    assert fast is not None
    np.testing.assert_allclose(fast["burst_surprise"], full["burst_surprise"], rtol=0, atol=1e-9)
    poisson_value = _poisson_surprise(fast["invoices_last_24h"].to_numpy(), fast["usual_last_24h"].to_numpy())
    assert fast["burst_surprise"].iloc[0] < poisson_value[0] - 1.0
