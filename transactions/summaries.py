"""Customer summaries from loaded rows in memory, for a load into an empty table.

Pure pandas: no ORM. `invoice_lines` reduces one chunk of loaded rows to one row per (customer,
country, invoice); `merge_invoice_lines` merges the chunks' reductions; `per_country` and
`invoice_counts` give the two aggregates `refresh_customers` otherwise reads with SQL (lines,
distinct invoices, first and last invoice date per customer and country; distinct invoices per
customer). They equal the SQL ones only when the table holds no other rows of these customers.
"""

from __future__ import annotations

import pandas as pd

KEYS = ["customer_id", "country", "invoice_no"]
PER_COUNTRY_COLUMNS = ["customer_id", "country", "invoices", "lines", "first_seen", "last_seen"]


def invoice_lines(rows: pd.DataFrame) -> pd.DataFrame:
    """Return one row per (customer_id, country, invoice_no) of `rows` that have a customer.

    Columns: the keys, lines (count of rows), first_seen and last_seen (min and max invoice_date).
    `rows` are loaded rows as `clean_rows` returns them.
    """
    with_customer = rows.loc[rows["customer_id"].notna(), [*KEYS, "invoice_date"]]
    grouped = with_customer.groupby(KEYS, sort=False)["invoice_date"]
    return grouped.agg(lines="size", first_seen="min", last_seen="max").reset_index()


def merge_invoice_lines(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Merge `invoice_lines` of several chunks (an invoice may span two chunks) into one frame."""
    if not parts:
        return pd.DataFrame(columns=[*KEYS, "lines", "first_seen", "last_seen"])
    combined = pd.concat(parts, ignore_index=True)
    grouped = combined.groupby(KEYS, sort=False)
    return grouped.agg(
        lines=("lines", "sum"), first_seen=("first_seen", "min"), last_seen=("last_seen", "max")
    ).reset_index()


def per_country(invoices: pd.DataFrame) -> pd.DataFrame:
    """Return per (customer_id, country): distinct invoices, lines, first_seen, last_seen (in UTC).

    `invoices` is `merge_invoice_lines` output; the columns are those of the SQL aggregate.
    """
    grouped = invoices.groupby(["customer_id", "country"], sort=False)
    frame = grouped.agg(
        invoices=("invoice_no", "size"),
        lines=("lines", "sum"),
        first_seen=("first_seen", "min"),
        last_seen=("last_seen", "max"),
    ).reset_index()
    frame["customer_id"] = frame["customer_id"].astype("int64")
    for column in ("first_seen", "last_seen"):
        frame[column] = frame[column].dt.tz_convert("UTC")
    return frame[PER_COUNTRY_COLUMNS]


def invoice_counts(invoices: pd.DataFrame) -> pd.Series:
    """Return the count of distinct invoice numbers per customer_id (an invoice in two countries counts once)."""
    counts = invoices.groupby("customer_id", sort=False)["invoice_no"].nunique()
    counts.index = counts.index.astype("int64")
    return counts.rename("invoices")
