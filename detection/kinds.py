"""What each transaction line is (a sale, a cancellation or a non-product line) and which sale a
cancellation undoes. Pure pandas: DataFrame in, Series/DataFrame out; no ORM, no I/O.

Only sale lines are scored for the anomaly queue: a cancellation or a postage line is unusual by
construction (negative quantity, a price set per order), so ranking it beside sales floods the top
of the queue with bookkeeping (82 of the top 100 on the real file before this split).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SALE = "sale"
CANCELLATION = "cancellation"
NON_PRODUCT = "non_product"
KINDS = (SALE, CANCELLATION, NON_PRODUCT)

# StockCodes that are not goods, read from the real file (all 541,909 rows, with and without a
# CustomerID): every code that is not five digits (plus an optional letter) was looked at by hand;
# the DCGS... codes are goods sold through the dotcom shop and stay sales.
# code -> (what it is, lines in the file, lines with a CustomerID)
NON_PRODUCT_CODES: dict[str, tuple[str, int, int]] = {
    "POST": ("postage", 1256, 1196),
    "DOT": ("dotcom postage", 710, 16),
    "C2": ("carriage", 144, 134),
    "M": ("manual adjustment", 571, 465),
    "m": ("manual adjustment", 1, 0),
    "D": ("discount", 77, 77),
    "S": ("samples", 63, 0),
    "BANK CHARGES": ("bank charges", 37, 12),
    "AMAZONFEE": ("Amazon fee", 34, 0),
    "CRUK": ("CRUK commission", 16, 16),
    "B": ("adjustment for bad debt", 3, 0),
    "PADS": ("padding priced at 0.001 to match cushions", 4, 4),
}
# Gift vouchers: gift_0001_10, gift_0001_20, ... (34 lines, none with a CustomerID).
NON_PRODUCT_PREFIXES = ("gift_",)


def is_non_product(stock_code: pd.Series) -> np.ndarray:
    """Return True where the StockCode is postage, a fee, an adjustment, a voucher... (not goods)."""
    codes = stock_code.astype(str).str.strip()
    return (codes.isin(list(NON_PRODUCT_CODES)) | codes.str.startswith(NON_PRODUCT_PREFIXES)).to_numpy()


def is_cancellation(frame: pd.DataFrame) -> np.ndarray:
    """Return True where the invoice number starts with C or the quantity is negative."""
    invoice = frame["invoice_no"].astype(str).str.strip().str.upper()
    return (invoice.str.startswith("C") | (frame["quantity"] < 0)).to_numpy()


def line_kinds(frame: pd.DataFrame) -> pd.Series:
    """Return each line's kind: `sale`, `cancellation` or `non_product` (same index as `frame`).

    A non-product code wins over a cancellation: a credited postage line is bookkeeping, not the
    cancellation of goods.
    """
    kind = np.where(
        is_non_product(frame["stock_code"]), NON_PRODUCT, np.where(is_cancellation(frame), CANCELLATION, SALE)
    )
    return pd.Series(pd.Categorical(kind, categories=KINDS), index=frame.index, name="kind")


def line_kind(stock_code: object, invoice_no: object, quantity: float) -> str:
    """`line_kinds` for one line, in plain Python (a few posted rows)."""
    code = str(stock_code).strip()
    if code in NON_PRODUCT_CODES or code.startswith(NON_PRODUCT_PREFIXES):
        return NON_PRODUCT
    if str(invoice_no).strip().upper().startswith("C") or quantity < 0:
        return CANCELLATION
    return SALE


def link_cancellations(frame: pd.DataFrame) -> pd.DataFrame:
    """Return, for each cancellation line of `frame`, the sale it undoes (same index as the cancellations).

    Columns: original_index (index label of the sale in `frame`, or -1), original_invoice_no (or
    None), matched (bool). The original is the latest earlier sale (strictly earlier time) of the
    same customer and StockCode whose quantity is at least the cancelled quantity, preferring a
    sale of exactly that quantity. Many cancellations in the real file have no original
    because it was sold before the file starts (December 2010).
    """
    kinds = line_kinds(frame)
    pair = _pair_codes(frame)
    cancels = frame.loc[kinds == CANCELLATION, ["quantity", "invoice_date"]].assign(
        _key=pair[(kinds == CANCELLATION).to_numpy()]
    )
    sales = frame.loc[kinds == SALE, ["quantity", "invoice_date", "invoice_no"]].assign(
        _key=pair[(kinds == SALE).to_numpy()]
    )
    result = pd.DataFrame(
        {
            "original_index": np.full(len(cancels), -1, dtype=np.int64),
            "original_invoice_no": pd.Series([None] * len(cancels), dtype=object).to_numpy(),
            "matched": np.zeros(len(cancels), dtype=bool),
        },
        index=cancels.index,
    )
    if cancels.empty or sales.empty:
        return result

    # Every earlier sale of the same customer and StockCode that covers the cancelled quantity (an
    # inner merge on the pair: a few candidates per cancellation), then the best one per cancellation:
    # exactly the cancelled quantity first, then the latest.
    left = pd.DataFrame(
        {
            "_key": cancels["_key"].to_numpy(),
            "_row": np.arange(len(cancels)),
            "cancelled": cancels["quantity"].abs().to_numpy(np.int64),
            "cancelled_at": _instants(cancels["invoice_date"]),
        }
    )
    right = pd.DataFrame(
        {
            "_key": sales["_key"].to_numpy(),
            "sold": sales["quantity"].to_numpy(np.int64),
            "sold_at": _instants(sales["invoice_date"]),
            "original_index": sales.index.to_numpy(),
            "invoice_no": sales["invoice_no"].astype(str).to_numpy(),
        }
    )
    pairs = left.merge(right, on="_key", how="inner", sort=False)
    pairs = pairs[(pairs["sold_at"] < pairs["cancelled_at"]) & (pairs["sold"] >= pairs["cancelled"])]
    pairs = pairs.assign(exact=pairs["sold"] == pairs["cancelled"]).sort_values(
        ["_row", "exact", "sold_at"], ascending=[True, False, False], kind="stable"
    )
    best = pairs.drop_duplicates("_row")
    rows = best["_row"].to_numpy()
    result.iloc[rows, 0] = best["original_index"].to_numpy(np.int64)
    result.iloc[rows, 1] = best["invoice_no"].to_numpy(object)
    result.iloc[rows, 2] = True
    return result


def _instants(dates: pd.Series) -> np.ndarray:
    """The dates as datetime64 (UTC when timezone-aware): compared and sorted like the dates, without
    a Timestamp object per row (what `to_numpy()` of a timezone-aware column gives)."""
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        return dates.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return dates.to_numpy()


def _pair_codes(frame: pd.DataFrame) -> np.ndarray:
    """One integer per line, equal where the lines' "CustomerID \\x1f StockCode" text keys are equal (a
    missing value makes the key missing, and merges match missing keys with each other: code -1),
    without a string per line."""
    customer = _text_codes(frame["customer_id"])
    stock = _text_codes(frame["stock_code"])
    pair = customer * (int(stock.max(initial=0)) + 1) + stock
    return np.where((customer < 0) | (stock < 0), -1, pair)


def _text_codes(values: pd.Series) -> np.ndarray:
    """Codes of `values` equal where their text (`astype(str)`) is equal, -1 where it is missing; each
    distinct value is turned to text once."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    text_codes, _ = pd.factorize(pd.Series(uniques, dtype=object).astype(str).to_numpy(dtype=object))
    return text_codes[codes].astype(np.int64)


# --- Rules: the only way a line that is not a sale is flagged ---------------------------------------
# Thresholds read from the real file's lines with a CustomerID: manual adjustments have a median of
# £10.60 and a 99th percentile of £4,161 (37 of 465 at £1,000 or more); postage lines a median of
# £40 (2 of 1,196 at £1,000 or more); discounts a median of £26 (1 of 77 at £500 or more);
# cancellations a median of £8.30 (24 of 8,539 at £1,000 or more, most of them linked to their sale).
# code group -> (StockCodes, the absolute line value at which it is flagged)
NON_PRODUCT_RULES: dict[str, tuple[frozenset[str], float]] = {
    "manual adjustment": (frozenset({"M", "m", "B"}), 1_000.0),
    "postage": (frozenset({"POST", "C2"}), 1_000.0),
    "discount": (frozenset({"D"}), 500.0),
}
UNLINKED_CANCELLATION_VALUE = 1_000.0  # a cancellation this large with no earlier sale to undo


def rule_reasons(frame: pd.DataFrame, kinds: pd.Series, linked: np.ndarray) -> list[list[dict]]:
    """Return, per line of `frame`, the rules it breaks as reasons ([] for most lines and every sale).

    `linked` says, per line, whether a cancellation was linked to its sale. Rules: a non-product line
    of a group in NON_PRODUCT_RULES at or above its value; a cancellation of
    UNLINKED_CANCELLATION_VALUE or more that undoes no earlier sale found in the data.
    """
    value = (frame["quantity"].astype(np.float64) * frame["unit_price"].astype(np.float64)).abs().to_numpy()
    codes = frame["stock_code"].astype(str).str.strip().to_numpy()
    return line_rule_reasons(value, codes, kinds.to_numpy(), linked)


def line_rule_reasons(value: np.ndarray, codes: np.ndarray, kind: np.ndarray, linked: np.ndarray) -> list[list[dict]]:
    """`rule_reasons` from arrays: |quantity x unit price|, stripped StockCodes, kinds and `linked`."""
    out: list[list[dict]] = [[] for _ in range(len(value))]
    if not ((kind == NON_PRODUCT) | (kind == CANCELLATION)).any():
        return out  # rules read only non-product lines and cancellations
    for group, (members, limit) in NON_PRODUCT_RULES.items():
        hits = np.flatnonzero((kind == NON_PRODUCT) & np.isin(codes, list(members)) & (value >= limit))
        for position in hits:  # rule hits are a few dozen lines in a year
            out[position].append(
                _rule(
                    f"{group} of £{value[position]:,.2f} (rule: {group} lines of £{limit:,.0f} or more)",
                    value[position],
                )
            )
    unlinked = np.flatnonzero((kind == CANCELLATION) & ~linked & (value >= UNLINKED_CANCELLATION_VALUE))
    for position in unlinked:
        out[position].append(
            _rule(
                f"cancellation of £{value[position]:,.2f} with no earlier sale to undo "
                f"(rule: £{UNLINKED_CANCELLATION_VALUE:,.0f} or more)",
                value[position],
            )
        )
    return out


def _rule(text: str, value: float) -> dict:
    return {"key": "rule", "values": {"line_value": round(float(value), 2)}, "surprise": None, "text": text}
