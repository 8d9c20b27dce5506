"""The population stability index on distributions whose PSI is known, and its bands."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from monitoring.drift import RETRAIN_ABOVE, STABLE_BELOW, band, psi, psi_table


def test_psi_of_two_discrete_distributions_follows_the_formula() -> None:
    training = np.r_[np.zeros(500), np.ones(500)]
    new = np.r_[np.zeros(800), np.ones(200)]
    expected = sum((a - e) * math.log(a / e) for e, a in [(0.5, 0.8), (0.5, 0.2)])
    assert psi(training, new) == pytest.approx(expected, rel=1e-9)


def test_psi_of_a_feature_with_many_values_uses_the_training_deciles() -> None:
    training = np.arange(1000, dtype=float)  # ten bins of 100 values each
    new = np.r_[np.full(500, 50.0), np.full(500, 950.0)]  # all in the first and the last bin
    shares = [0.5] + [1e-4] * 8 + [0.5]
    expected = sum((a - 0.1) * math.log(a / 0.1) for a in shares)
    assert psi(training, new) == pytest.approx(expected, rel=1e-9)


def test_psi_of_a_sample_of_the_same_distribution_is_stable_and_a_shift_is_not() -> None:
    rng = np.random.default_rng(0)
    training = rng.normal(0, 1, 100_000)
    same = psi(training, rng.normal(0, 1, 20_000))
    shifted = psi(training, rng.normal(1, 1, 20_000))
    # the PSI of two normals one standard deviation apart tends to their J-divergence, 1.0, from
    # below as bins get finer; ten decile bins keep most of it
    assert same < 0.01
    assert 0.75 < shifted < 1.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "stable"),
        (STABLE_BELOW - 1e-9, "stable"),
        (STABLE_BELOW, "moderate"),
        (RETRAIN_ABOVE, "moderate"),
        (RETRAIN_ABOVE + 1e-9, "retrain"),
        (float("nan"), "unknown"),
    ],
)
def test_bands(value, expected) -> None:
    assert band(value) == expected


def test_psi_table_ranks_the_largest_shift_first_and_says_unknown_without_rows() -> None:
    training = pd.DataFrame({"hour": [10.0] * 50 + [11.0] * 50, "amount": [1.0] * 100})
    new = pd.DataFrame({"hour": [22.0] * 40, "amount": [1.0] * 40})
    table = psi_table(training, new, ["amount", "hour"])
    assert table["feature"].tolist() == ["hour", "amount"]
    assert table["band"].tolist() == ["retrain", "stable"]
    assert table.loc[1, "psi"] == pytest.approx(0.0)
    empty = psi_table(training, new.iloc[:0], ["hour"])
    assert empty["band"].tolist() == ["unknown"]
