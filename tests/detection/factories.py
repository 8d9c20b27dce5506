"""Factory functions for small transaction frames in the shape detection's pure modules take."""

from __future__ import annotations

import itertools

import pandas as pd

_ids = itertools.count(1)


def line(
    *,
    invoice_no: str,
    when: str,
    customer_id: int = 1,
    stock_code: str = "85123A",
    quantity: int = 6,
    unit_price: float = 2.55,
    country: str = "United Kingdom",
) -> dict:
    """One transaction line; `when` is UK local time ("2011-03-07 10:00")."""
    return {
        "transaction_id": next(_ids),
        "invoice_no": invoice_no,
        "stock_code": stock_code,
        "quantity": quantity,
        "unit_price": unit_price,
        "invoice_date": pd.Timestamp(when, tz="Europe/London").tz_convert("UTC"),
        "customer_id": customer_id,
        "country": country,
    }


def frame(*lines: dict) -> pd.DataFrame:
    """A frame of `lines`, with the invoice date as a UTC datetime column."""
    out = pd.DataFrame(list(lines))
    out["invoice_date"] = pd.to_datetime(out["invoice_date"], utc=True)
    return out


def weekly_invoices(
    customer_id: int, count: int, *, start: str = "2011-01-03 10:00", country: str = "United Kingdom", prefix="W"
) -> list[dict]:
    """`count` two-line invoices, one a week at 10:00 (UK), of customer `customer_id`."""
    base = pd.Timestamp(start)
    lines = []
    for n in range(count):
        when = str(base + pd.Timedelta(weeks=n))
        invoice = f"{prefix}{customer_id}-{n}"
        lines.append(line(invoice_no=invoice, when=when, customer_id=customer_id, country=country))
        lines.append(
            line(
                invoice_no=invoice,
                when=when,
                customer_id=customer_id,
                stock_code="22423",
                quantity=2,
                unit_price=12.75,
                country=country,
            )
        )
    return lines


def whole_past(history: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Every row of `history` of the customers and StockCodes of `rows`, less the invoices of `rows`:
    the past `history_features` is defined against (ScoringBundle.past_for returns less of it)."""
    mine = history["customer_id"].isin(rows["customer_id"]) | history["stock_code"].isin(rows["stock_code"])
    return history[mine & ~history["invoice_no"].isin(rows["invoice_no"])]
