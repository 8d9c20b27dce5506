"""Shared fixtures: generated data in the Kaggle format, the real file when present."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from transactions.demo_data import generate_demo_frame

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ecommerce-data.csv.gz"


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """Write `frame` as the Kaggle file is written (latin-1, no index) and return the path."""
    frame.to_csv(path, index=False, encoding="latin-1", lineterminator="\n")
    return path


@pytest.fixture(scope="session")
def demo_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A 3,000-row generated file (as strings) and its planted-anomaly labels."""
    return generate_demo_frame(3_000, seed=7)


@pytest.fixture
def demo_csv(tmp_path: Path, demo_frames) -> Path:
    return write_csv(tmp_path / "data.csv", demo_frames[0])


@pytest.fixture
def real_data_path() -> Path:
    if not REAL_DATA.is_file():
        pytest.skip(f"the real data file is absent: {REAL_DATA} (see shared/data/README.md)")
    return REAL_DATA
