"""Vectorised validation and cleaning of raw source rows: typed columns, reasons, fingerprints.

Pure pandas: raw string frame in, (clean frame, quarantined frame) out. No ORM.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _first_reason(reasons: pd.Series, mask: pd.Series, message: pd.Series | str) -> None:
    """Set `message` as the reason of rows in `mask` that have no reason yet (in place)."""
    target = mask & reasons.isna()
    if target.any():
        reasons[target] = message[target] if isinstance(message, pd.Series) else message


def clean_rows(raw: pd.DataFrame) -> CleanResult:
    """Return typed, validated, de-duplicated rows and the rows quarantined with reasons.

    `raw` holds the source columns as strings plus `line_number`. Exact duplicates (all eight
    source fields equal once parsed) keep their first occurrence.
    """
    text = {column: raw[column].astype(object).fillna("").astype(str).str.strip() for column in EXPECTED_COLUMNS}
    reasons = pd.Series(pd.NA, index=raw.index, dtype=object)
    for column in REQUIRED:
        _first_reason(reasons, text[column] == "", f"missing {column}")
    for column, limit in MAX_LENGTHS.items():
        _first_reason(reasons, text[column].str.len() > limit, f"{column} longer than {limit} characters")

    quantity = pd.to_numeric(text["Quantity"], errors="coerce")
    bad_quantity = quantity.isna() | (quantity % 1 != 0) | (quantity.abs() > 2**31 - 1)
    _first_reason(reasons, bad_quantity, "Quantity '" + text["Quantity"] + "' is not a whole number")

    unit_price = pd.to_numeric(text["UnitPrice"], errors="coerce")
    bad_price = unit_price.isna() | ~np.isfinite(unit_price.fillna(0)) | (unit_price.abs() >= 1e9)
    _first_reason(reasons, bad_price, "UnitPrice '" + text["UnitPrice"] + "' is not a number")

    invoice_date = pd.to_datetime(text["InvoiceDate"], format=DATE_FORMAT, errors="coerce")
    _first_reason(
        reasons,
        invoice_date.isna(),
        "InvoiceDate '" + text["InvoiceDate"] + "' is not a date like 12/1/2010 8:26",
    )

    customer_id = pd.to_numeric(text["CustomerID"], errors="coerce")
    bad_customer = (text["CustomerID"] != "") & (
        customer_id.isna() | (customer_id % 1 != 0) | (customer_id <= 0) | (customer_id > 2**31 - 1)
    )
    _first_reason(reasons, bad_customer, "CustomerID '" + text["CustomerID"] + "' is not a positive whole number")

    bad = reasons.notna()
    quarantined = pd.DataFrame({"line_number": raw.loc[bad, "line_number"], "reason": reasons[bad].astype(str)})

    good = ~bad
    # Ambiguous autumn-change hours are read as GMT; spring-forward gaps move forward.
    local = invoice_date[good].dt.tz_localize(
        SOURCE_TIME_ZONE, ambiguous=np.zeros(int(good.sum()), dtype=bool), nonexistent="shift_forward"
    )
    rows = pd.DataFrame(
        {
            "invoice_no": text["InvoiceNo"][good],
            "stock_code": text["StockCode"][good],
            "description": text["Description"][good],
            "quantity": quantity[good].astype(np.int64),
            "invoice_date": local,
            "unit_price": unit_price[good].round(3),
            "customer_id": customer_id[good].astype("Int64"),
            "country": text["Country"][good],
            "line_number": raw.loc[good, "line_number"].astype(np.int64),
        }
    )
    rows["is_cancellation"] = rows["invoice_no"].str.upper().str.startswith("C")
    rows["fingerprint"] = row_fingerprints(rows)
    duplicated = rows["fingerprint"].duplicated(keep="first")
    return CleanResult(rows=rows[~duplicated], quarantined=quarantined, duplicates=int(duplicated.sum()))


def row_fingerprints(rows: pd.DataFrame) -> np.ndarray:
    """Return a signed 64-bit hash of each row's eight parsed source fields.

    Parsed values are hashed (not the raw text), so "17850" and "17850.0" are the same customer.
    """
    canonical = (
        rows["invoice_no"]
        + "\x1f"
        + rows["stock_code"]
        + "\x1f"
        + rows["description"]
        + "\x1f"
        + rows["quantity"].astype(str)
        + "\x1f"
        + rows["invoice_date"].dt.strftime("%Y-%m-%dT%H:%M")
        + "\x1f"
        + (rows["unit_price"] * 1000).round().astype(np.int64).astype(str)
        + "\x1f"
        + rows["customer_id"].astype("string").fillna("")
        + "\x1f"
        + rows["country"]
    )
    hashes = pd.util.hash_pandas_object(canonical.astype(object), index=False).to_numpy()
    return hashes.view(np.int64)
