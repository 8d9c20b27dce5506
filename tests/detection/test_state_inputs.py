"""The history state's inputs computed in bounded memory equal those computed over every line at once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.history_stats import invoice_line_summaries
from detection.item_baselines import daily_item_medians, item_history
from detection.state_inputs import SUMMARY_COLUMNS, renumbered_daily, summaries_in_chunks
from detection.text_codes import sorted_codes


def _lines(rows: int = 3_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    invoice = rng.integers(0, 400, rows)  # an invoice's lines scattered through the rows
    return pd.DataFrame(
        {
            "invoice_no": pd.array([f"{536000 + number}" for number in invoice], dtype="str"),
            "stock_code": pd.array([f"{20000 + code}" for code in rng.integers(0, 60, rows)], dtype="str"),
            "quantity": rng.integers(1, 40, rows).astype(np.float64),
            "unit_price": np.round(rng.random(rows) * 9, 2),
            "total_spent": np.round(rng.random(rows) * 200 - 10, 2),
            "quantity_vs_item": rng.normal(size=rows),
            "day": rng.integers(14_950, 15_300, rows),
        }
    )


def test_summaries_in_chunks_equal_one_summary_of_every_line() -> None:
    lines = _lines()
    rows = np.random.default_rng(1).random(len(lines)) < 0.8
    whole = invoice_line_summaries(lines[SUMMARY_COLUMNS][rows])
    chunked = summaries_in_chunks(lines, rows, chunk_lines=37)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert whole.index.is_unique and len(whole) > 300


def test_daily_medians_by_one_key_equal_a_two_column_groupby() -> None:
    lines = _lines(seed=2)
    stock, _ = pd.factorize(lines["stock_code"])
    sold = lines["unit_price"].to_numpy() > 1
    expected = (
        pd.DataFrame(
            {
                "stock": stock[sold],
                "day": lines["day"].to_numpy()[sold],
                "price": lines["unit_price"].to_numpy()[sold],
                "log_quantity": np.log1p(lines["quantity"].to_numpy()[sold]),
            }
        )
        .groupby(["stock", "day"], sort=True)
        .median()
        .reset_index()
    )
    pd.testing.assert_frame_equal(daily_item_medians(lines, stock, sold), expected, check_exact=True)


def test_the_item_histories_daily_medians_renumbered_equal_those_of_sorted_codes() -> None:
    lines = _lines(seed=3)
    sale = np.random.default_rng(4).random(len(lines)) < 0.9
    stock_codes, line_stock = sorted_codes(lines["stock_code"])
    sold = sale & (lines["unit_price"].to_numpy() > 0)
    expected = daily_item_medians(lines, line_stock, sold)
    got = renumbered_daily(item_history(lines, sale, 1.0), stock_codes)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
