"""transactions_frame: read in chunks, typed like one read, with shared strings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from transactions import selectors
from transactions.services import ingest_file

pytestmark = pytest.mark.django_db


def test_frame_read_in_chunks_equals_one_read_and_shares_equal_strings(demo_csv: Path, monkeypatch) -> None:
    ingest_file(demo_csv)
    whole = selectors.transactions_frame()
    monkeypatch.setattr(selectors, "FRAME_CHUNK_ROWS", 700)
    chunked = selectors.transactions_frame()

    assert len(whole) > 2_000
    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked["transaction_id"].is_monotonic_increasing
    for column in selectors.SHARED_TEXT_COLUMNS:
        values = chunked[column].to_numpy(dtype=object)
        assert len({id(value) for value in values}) == len(set(values))  # one object per distinct string


def test_frame_of_no_rows_has_the_columns() -> None:
    frame = selectors.transactions_frame()
    assert frame.empty
    assert list(frame.columns) == ["transaction_id", *selectors.SCOREABLE_COLUMNS[1:]]
