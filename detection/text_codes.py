"""Sorted distinct strings of a column and each row's position among them, without a fixed-width
copy of every row's text (a training run's millions of rows): what `np.unique(values.astype(str),
return_inverse=True)` gives, from the distinct values only."""

from __future__ import annotations

import numpy as np
import pandas as pd


def sorted_codes(values) -> tuple[np.ndarray, np.ndarray]:
    """Return (the sorted distinct values as fixed-width strings, each row's position in them)."""
    values = np.asarray(values, dtype=object)
    codes, distinct = pd.factorize(values)
    if (codes < 0).any():  # a missing value: its text is None's or NaN's, as astype(str) writes it
        keys, codes = np.unique(values.astype(str), return_inverse=True)
        return keys, codes.reshape(-1)
    keys = np.asarray(distinct, dtype=object).astype(str)
    order = np.argsort(keys, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return keys[order], rank[codes]
