"""The fast path for a few posted rows gives exactly the frame `clean_rows` gives, or steps aside."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transactions.cleaning import clean_rows
from transactions.plain_rows import plain_rows
from transactions.source import EXPECTED_COLUMNS

ROW = {
    "InvoiceNo": "536365",
    "StockCode": "85123A",
    "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
    "Quantity": "6",
    "InvoiceDate": "12/1/2010 8:26",
    "UnitPrice": "2.55",
    "CustomerID": "17850",
    "Country": "United Kingdom",
}


def vectorised(records: list[dict]) -> pd.DataFrame:
    raw = pd.DataFrame({c: ["" if r.get(c) is None else str(r.get(c)) for r in records] for c in EXPECTED_COLUMNS})
    raw["line_number"] = np.arange(1, len(raw) + 1)
    result = clean_rows(raw)
    assert result.quarantined.empty and result.duplicates == 0
    return result.rows


def test_the_generated_file_rows_give_the_vectorised_frame(demo_frames) -> None:
    records = demo_frames[0].drop_duplicates().to_dict("records")
    checked = 0
    for start in range(0, len(records), 4):
        batch = records[start : start + 1 + start % 5]
        fast = plain_rows(batch)
        if fast is not None:
            pd.testing.assert_frame_equal(fast, vectorised(batch), check_index_type=False)
            checked += 1
    assert checked > 400


@pytest.mark.parametrize(
    "changes",
    [
        {"InvoiceDate": "10/30/2011 1:30"},  # the autumn hour that happens twice: read as GMT
        {"InvoiceDate": "3/27/2011 1:30"},  # the spring hour that does not exist: moved forward
        {"InvoiceDate": "01/02/2011 00:05"},
        {"UnitPrice": "0.0015"},
        {"UnitPrice": "1.0005"},
        {"UnitPrice": "-11062.06", "InvoiceNo": "C536379", "Quantity": "-1"},
        {"CustomerID": "17850.0", "Description": "  padded  "},
        {"Quantity": 12, "UnitPrice": 0.85, "CustomerID": 12583},  # JSON numbers
        {"Description": None},
    ],
)
def test_edge_values_give_the_vectorised_frame(changes) -> None:
    batch = [{**ROW, **changes}, {**ROW, "InvoiceNo": "536366"}]
    fast = plain_rows(batch)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, vectorised(batch), check_index_type=False)


@pytest.mark.parametrize(
    "changes",
    [
        {"CustomerID": ""},
        {"CustomerID": "0"},
        {"Quantity": "1.5"},
        {"Quantity": "1e3"},
        {"UnitPrice": "nan"},
        {"UnitPrice": "1,5"},
        {"InvoiceDate": "2/30/2011 10:00"},
        {"InvoiceDate": "2011-02-03 10:00"},
        {"Country": ""},
        {"InvoiceNo": "X" * 21},
        {"Quantity": "１２"},  # full-width digits: left to the vectorised path
    ],
)
def test_anything_unusual_is_left_to_the_vectorised_path(changes) -> None:
    assert plain_rows([{**ROW, **changes}]) is None


def test_a_repeated_row_is_left_to_the_vectorised_path() -> None:
    assert plain_rows([ROW, dict(ROW)]) is None
    assert plain_rows([ROW] * 25) is None
