"""Features: hand-computed values on a tiny frame. Pure pandas, no database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detection.features import MODEL_FEATURES, build_features, build_reference, model_matrix


def tiny_frame() -> pd.DataFrame:
    """Customer 1: six UK lines, one of them huge and one sent to France. Customer 2: two lines."""
    dates = (
        pd.to_datetime(
            [
                "2011-03-07 10:00",  # a Monday
                "2011-03-07 10:00",
                "2011-03-08 11:30",
                "2011-03-09 12:00",
                "2011-03-10 13:00",
                "2011-03-11 23:15",
                "2011-06-01 09:00",  # summer time: 09:00 local is 08:00 UTC
                "2011-06-02 09:00",
            ]
        )
        .tz_localize("Europe/London")
        .tz_convert("UTC")
    )
    return pd.DataFrame(
        {
            "transaction_id": range(1, 9),
            "invoice_no": ["A1", "A1", "A2", "A3", "A4", "A5", "B1", "B2"],
            "stock_code": ["X", "Y", "X", "X", "X", "X", "Y", "Y"],
            "quantity": [2, 4, 2, 2, 2, 200, 1, 3],
            "unit_price": [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 8.0],
            "invoice_date": dates,
            "customer_id": [1, 1, 1, 1, 1, 1, 2, 2],
            "country": ["United Kingdom"] * 5 + ["France"] + ["Spain", "Spain"],
        }
    )


def test_seed_features_match_hand_computed_values() -> None:
    frame = tiny_frame()
    features = build_features(frame, build_reference(frame))

    assert features["total_spent"].tolist() == [2.0, 8.0, 2.0, 2.0, 2.0, 200.0, 2.0, 24.0]
    assert features["hist_freq"].tolist() == [5, 5, 5, 5, 5, 5, 2, 2]
    assert features["transaction_hour"].tolist() == [10, 10, 11, 12, 13, 23, 9, 9]
    assert features["transaction_day"].tolist()[:2] == [0, 0]
    assert features["unusual_destination"].tolist() == [False] * 5 + [True, False, False]

    # Customer 1 has 6 lines: own mean/std (pandas' sample std, ddof=1).
    quantities = np.array([2, 4, 2, 2, 2, 200.0])
    mean, std = quantities.mean(), quantities.std(ddof=1)
    assert features["quantity_spike"].tolist()[:6] == list(np.abs(quantities - mean) > 3 * std)
    spent = np.array([2, 8, 2, 2, 2, 200.0])
    assert features["zscore"].iloc[:6].to_numpy() == pytest.approx((spent - spent.mean()) / spent.std(ddof=1))

    # Customer 2 has 2 lines (< 5): global figures over all 8 lines.
    all_spent = features["total_spent"].to_numpy()
    expected = (np.array([2.0, 24.0]) - all_spent.mean()) / all_spent.std(ddof=1)
    assert features["zscore"].iloc[6:].to_numpy() == pytest.approx(expected)


def test_price_deviation_is_log_ratio_to_stock_median() -> None:
    frame = tiny_frame()
    features = build_features(frame, build_reference(frame))
    # StockCode Y sells at 2.0, 2.0 and 8.0: median 2.0.
    assert features["price_deviation"].iloc[7] == pytest.approx(np.log1p(8.0) - np.log1p(2.0))
    assert features["price_deviation"].iloc[6] == pytest.approx(0.0)


def test_unknown_customer_and_stock_code_fall_back() -> None:
    frame = tiny_frame()
    reference = build_reference(frame)
    new = frame.iloc[[0]].assign(customer_id=999, stock_code="NEW", country="Japan")
    features = build_features(new, reference)
    assert features["hist_freq"].tolist() == [1]
    assert features["unusual_destination"].tolist() == [False]
    assert features["price_deviation"].tolist() == [0.0]


def test_model_matrix_has_one_column_per_model_feature() -> None:
    frame = tiny_frame()
    matrix = model_matrix(build_features(frame, build_reference(frame)))
    assert matrix.shape == (8, len(MODEL_FEATURES))
    assert np.isfinite(matrix).all()
