"""Vectorised validation and cleaning of raw source rows: typed columns, reasons, fingerprints.

Pure pandas: raw string frame in, (clean frame, quarantined frame) out. No ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from .source import EXPECTED_COLUMNS

DATE_FORMAT = "%m/%d/%Y %H:%M"  # 12/1/2010 8:26: month/day/year, 24-hour clock
SOURCE_TIME_ZONE = "Europe/London"
MAX_LENGTHS = {"InvoiceNo": 20, "StockCode": 32, "Description": 255, "Country": 64}
REQUIRED = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "Country"]


@dataclass
class CleanResult:
    """Typed rows ready to load, rows refused with their reason, and the duplicate count."""

    rows: pd.DataFrame
    quarantined: pd.DataFrame  # line_number, reason
    duplicates: int


def _first_reason(
    reasons: pd.Series, mask: np.ndarray | pd.Series, message: str | Callable[[np.ndarray], np.ndarray]
) -> None:
    """Set `message` as the reason of rows in `mask` that have no reason yet (in place).

    A callable `message` is given the rows to set (a boolean array) and returns their messages, so
    that messages quoting a value are only built for the rows refused.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    target = mask & reasons.isna().to_numpy()
    if target.any():
        reasons[target] = message(target) if callable(message) else message


@dataclass(frozen=True, eq=False)
class _Text:
    """A text column as codes into its distinct values, stripped (missing as ""): row i is values[codes[i]].

    Checks, parsing and lengths run once per distinct value and are spread to the rows by code.
    """

    codes: np.ndarray
    values: np.ndarray  # object array of str

    def per_row(self, per_value: np.ndarray) -> np.ndarray:
        """Return the row-wise array of `per_value` (one entry per distinct value)."""
        return np.asarray(per_value)[self.codes]

    def rows(self, keep: np.ndarray) -> np.ndarray:
        """Return the text of the rows in `keep` (a boolean mask) as an object array."""
        return self.values[self.codes[keep]]


def _quoting(column: _Text, before: str, after: str) -> Callable[[np.ndarray], np.ndarray]:
    """Return a message builder `before + value + after` for the rows of `column` it is given."""
    return lambda target: before + column.values[column.codes[target]] + after


def clean_rows(raw: pd.DataFrame) -> CleanResult:
    """Return typed, validated, de-duplicated rows and the rows quarantined with reasons.

    `raw` holds the source columns as strings plus `line_number`.
    Exact duplicates (all eight source fields equal once parsed) keep their first occurrence.
    """
    text = {column: _factorized(raw[column]) for column in EXPECTED_COLUMNS}
    reasons = pd.Series(pd.NA, index=raw.index, dtype=object)
    for column in REQUIRED:
        _first_reason(reasons, text[column].per_row(text[column].values == ""), f"missing {column}")
    for column, limit in MAX_LENGTHS.items():
        too_long = text[column].per_row(_lengths(text[column].values) > limit)
        _first_reason(reasons, too_long, f"{column} longer than {limit} characters")

    quantity = _numeric(text["Quantity"], raw.index)
    bad_quantity = quantity.isna() | (quantity % 1 != 0) | (quantity.abs() > 2**31 - 1)
    _first_reason(reasons, bad_quantity, _quoting(text["Quantity"], "Quantity '", "' is not a whole number"))

    unit_price = _numeric(text["UnitPrice"], raw.index)
    bad_price = unit_price.isna() | ~np.isfinite(unit_price.fillna(0)) | (unit_price.abs() >= 1e9)
    _first_reason(reasons, bad_price, _quoting(text["UnitPrice"], "UnitPrice '", "' is not a number"))

    dates = pd.to_datetime(pd.Series(text["InvoiceDate"].values, dtype=str), format=DATE_FORMAT, errors="coerce")
    invoice_date = pd.Series(text["InvoiceDate"].per_row(dates.to_numpy()), index=raw.index)
    _first_reason(
        reasons,
        invoice_date.isna(),
        _quoting(text["InvoiceDate"], "InvoiceDate '", "' is not a date like 12/1/2010 8:26"),
    )

    customer_id = _numeric(text["CustomerID"], raw.index)
    bad_customer = (
        text["CustomerID"].per_row(text["CustomerID"].values != "")
        & (customer_id.isna() | (customer_id % 1 != 0) | (customer_id <= 0) | (customer_id > 2**31 - 1)).to_numpy()
    )
    _first_reason(
        reasons, bad_customer, _quoting(text["CustomerID"], "CustomerID '", "' is not a positive whole number")
    )

    bad = reasons.notna()
    quarantined = pd.DataFrame({"line_number": raw.loc[bad, "line_number"], "reason": reasons[bad].astype(str)})

    good = ~bad
    kept = good.to_numpy()
    index = raw.index[kept]
    # Ambiguous autumn-change hours are read as GMT; spring-forward gaps move forward.
    local = invoice_date[good].dt.tz_localize(
        SOURCE_TIME_ZONE, ambiguous=np.zeros(int(good.sum()), dtype=bool), nonexistent="shift_forward"
    )
    rows = pd.DataFrame(
        {
            "invoice_no": pd.Series(text["InvoiceNo"].rows(kept), index=index, dtype=str),
            "stock_code": pd.Series(text["StockCode"].rows(kept), index=index, dtype=str),
            "description": pd.Series(text["Description"].rows(kept), index=index, dtype=str),
            "quantity": quantity[good].astype(np.int64),
            "invoice_date": local,
            "unit_price": unit_price[good].round(3),
            "customer_id": customer_id[good].astype("Int64"),
            "country": pd.Series(text["Country"].rows(kept), index=index, dtype=str),
            "line_number": raw.loc[good, "line_number"].astype(np.int64),
        }
    )
    # Only "c" upper-cases to a leading "C", so this is str.upper().startswith("C").
    invoice_no = text["InvoiceNo"]
    cancellation = np.fromiter(map(str.startswith, invoice_no.values, repeat(("C", "c"))), dtype=bool)
    rows["is_cancellation"] = cancellation[invoice_no.codes[kept]]
    rows["fingerprint"] = row_fingerprints(rows)
    duplicated = rows["fingerprint"].duplicated(keep="first")
    return CleanResult(rows=rows[~duplicated], quarantined=quarantined, duplicates=int(duplicated.sum()))


def _factorized(values: pd.Series) -> _Text:
    """Return `values` as a _Text: codes and distinct values as text without surrounding whitespace.

    Missing values are the empty text; str.strip runs over the distinct values only.
    """
    codes, distinct = pd.factorize(values.to_numpy(dtype=object))
    distinct = pd.Series(distinct, dtype=object).astype(str).to_numpy(dtype=object)
    if (codes < 0).any():  # a missing value: the empty text, as one more distinct value
        codes = np.where(codes < 0, len(distinct), codes)
        distinct = np.append(distinct, np.array([""], dtype=object))
    stripped = np.fromiter(map(str.strip, distinct), dtype=object, count=len(distinct))
    return _Text(codes=codes, values=stripped)


def _lengths(text: np.ndarray) -> np.ndarray:
    """Return the length of each string of `text`."""
    return np.fromiter(map(len, text), dtype=np.int64, count=len(text))


def _numeric(text: _Text, index: pd.Index) -> pd.Series:
    """Return `pd.to_numeric` (errors="coerce") of each row as a Series on `index`; each distinct text parsed once."""
    numbers = pd.to_numeric(pd.Series(text.values, dtype=str), errors="coerce")
    return pd.Series(text.per_row(numbers.to_numpy()), index=index)


def row_fingerprints(rows: pd.DataFrame) -> np.ndarray:
    """Return a signed 64-bit hash of each row's eight parsed source fields.

    Parsed values are hashed (not the raw text), so "17850" and "17850.0" are the same customer.
    The hashed text is the fields joined by U+001F: quantity, local wall-clock time as
    2010-12-01T08:26, unit price in thousandths and CustomerID ("" when missing) as whole numbers.
    """
    customer = rows["customer_id"]
    customer_text = _as_text(customer.to_numpy(dtype=np.int64, na_value=0))
    customer_text[customer.isna().to_numpy()] = ""
    wall_clock = rows["invoice_date"].dt.tz_localize(None).to_numpy().astype("datetime64[m]")
    codes, minutes = pd.factorize(wall_clock)
    fields = [
        rows["invoice_no"].to_numpy(dtype=object),
        rows["stock_code"].to_numpy(dtype=object),
        rows["description"].to_numpy(dtype=object),
        _as_text(rows["quantity"].to_numpy(dtype=np.int64)),
        np.datetime_as_string(np.asarray(minutes), unit="m").astype(object)[codes],
        _as_text((rows["unit_price"].to_numpy(dtype=np.float64) * 1000).round().astype(np.int64)),
        customer_text,
        rows["country"].to_numpy(dtype=object),
    ]
    # str.join mapped over the zipped columns runs in C: one string per row, no Python code per row.
    canonical = np.fromiter(map("\x1f".join, zip(*fields, strict=True)), dtype=object, count=len(rows))
    # Every row's text is distinct (or nearly): hashing without categorizing first gives the same
    # hashes without a factorize pass over the strings.
    return pd.util.hash_array(canonical, categorize=False).view(np.int64)


def _as_text(values: np.ndarray) -> np.ndarray:
    """Return whole numbers as an object array of their decimal text, each distinct value formatted once."""
    codes, uniques = pd.factorize(values)
    return np.asarray(uniques).astype(str).astype(object)[codes]
