"""Synthetic data in exactly the Kaggle "E-Commerce Data" format, with planted anomalies.

Pure numpy/pandas. `generate_demo_frame` returns the CSV rows (all strings, as in data.csv) and a
label frame naming each planted anomaly, so tests and `evaluate_models` can check detection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .source import EXPECTED_COLUMNS

HOME_COUNTRIES = ["United Kingdom"] * 17 + ["Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium"]
OTHER_COUNTRIES = ["Norway", "Portugal", "Australia", "Switzerland", "Japan", "Italy", "Sweden", "Poland"]
ADJECTIVES = ["WHITE", "RED", "VINTAGE", "JUMBO", "SET OF 3", "HEART", "REGENCY", "CRÈME", "PAPER", "GLASS"]
NOUNS = ["T-LIGHT HOLDER", "LANTERN", "TEACUP", "BAG", "CAKE STAND", "CANDLE", "CAFÉ SIGN", "BUNTING", "MUG"]
ANOMALY_KINDS = ["huge_quantity", "extreme_price", "odd_hour", "new_country"]
START = pd.Timestamp("2010-12-01")
DAYS = 374  # to 2011-12-09, as the real file


def _format_dates(dates: pd.Series) -> pd.Series:
    """Return dates as the file writes them: 12/1/2010 8:26 (no leading zeros but the minutes)."""
    return (
        dates.dt.month.astype(str)
        + "/"
        + dates.dt.day.astype(str)
        + "/"
        + dates.dt.year.astype(str)
        + " "
        + dates.dt.hour.astype(str)
        + ":"
        + dates.dt.minute.astype(str).str.zfill(2)
    )


def generate_demo_frame(
    rows: int = 5_000,
    *,
    seed: int = 0,
    anomaly_rate: float = 0.02,
    missing_customer_rate: float = 0.2,
    cancellation_rate: float = 0.02,
    duplicate_rate: float = 0.005,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (csv_rows, labels): about `rows` lines in the Kaggle columns, and the planted anomalies.

    Planted anomalies are one-line invoices of known customers; `labels` lists their InvoiceNo,
    StockCode, CustomerID and kind (huge_quantity, extreme_price, odd_hour, new_country).
    """
    if rows < 100:
        raise ValueError("rows must be at least 100")
    rng = np.random.default_rng(seed)
    n_planted = max(len(ANOMALY_KINDS), round(rows * anomaly_rate))
    n_normal = rows - n_planted

    n_customers = max(30, rows // 60)
    customer_ids = 12346 + np.arange(n_customers) * 7
    home_country = rng.choice(HOME_COUNTRIES, size=n_customers)
    activity = rng.pareto(1.2, size=n_customers) + 0.2

    n_products = max(60, rows // 150)
    stock_codes = (20000 + rng.choice(70000, size=n_products, replace=False)).astype(str)
    descriptions = np.char.add(
        np.char.add(rng.choice(ADJECTIVES, size=n_products), " "), rng.choice(NOUNS, size=n_products)
    )
    base_price = np.round(np.exp(rng.normal(0.9, 0.7, size=n_products)), 2)

    # Invoices: a customer (or none), a date in shop hours, a country.
    lines_per_invoice = rng.geometric(0.12, size=n_normal)
    lines_per_invoice = lines_per_invoice[np.cumsum(lines_per_invoice) <= n_normal]
    lines_per_invoice = np.append(lines_per_invoice, n_normal - lines_per_invoice.sum())
    lines_per_invoice = lines_per_invoice[lines_per_invoice > 0]
    n_invoices = len(lines_per_invoice)
    invoice_customer = rng.choice(n_customers, size=n_invoices, p=activity / activity.sum())
    has_customer = rng.random(n_invoices) >= missing_customer_rate
    day = rng.integers(0, DAYS, size=n_invoices)
    hour = np.clip(np.round(rng.normal(12.5, 2.2, size=n_invoices)), 7, 19).astype(int)
    minute = rng.integers(0, 60, size=n_invoices)
    invoice_date = START + pd.to_timedelta(day, unit="D") + pd.to_timedelta(hour * 60 + minute, unit="min")
    order = np.argsort(invoice_date.values, kind="stable")
    invoice_customer, has_customer, lines_per_invoice = (
        invoice_customer[order],
        has_customer[order],
        lines_per_invoice[order],
    )
    invoice_date = invoice_date[order]
    invoice_no = (536365 + np.arange(n_invoices)).astype(str)
    cancelled = has_customer & (rng.random(n_invoices) < cancellation_rate)
    invoice_no = np.where(cancelled, np.char.add("C", invoice_no), invoice_no)

    line_invoice = np.repeat(np.arange(n_invoices), lines_per_invoice)
    product = rng.integers(0, n_products, size=n_normal)
    quantity = rng.choice([1, 2, 3, 4, 6, 8, 12, 24], size=n_normal, p=[0.2, 0.15, 0.1, 0.1, 0.15, 0.05, 0.2, 0.05])
    quantity = np.where(cancelled[line_invoice], -quantity, quantity)
    price = np.round(base_price[product] * rng.choice([1.0, 1.0, 1.0, 0.85, 1.15], size=n_normal), 2)

    normal = pd.DataFrame(
        {
            "InvoiceNo": invoice_no[line_invoice],
            "StockCode": stock_codes[product],
            "Description": descriptions[product],
            "Quantity": quantity,
            "InvoiceDate": invoice_date[line_invoice],
            "UnitPrice": price,
            "CustomerID": np.where(has_customer[line_invoice], customer_ids[invoice_customer[line_invoice]], -1),
            "Country": home_country[invoice_customer[line_invoice]],
        }
    )

    planted, labels = _planted_anomalies(
        rng,
        n_planted,
        customer_ids=customer_ids,
        home_country=home_country,
        stock_codes=stock_codes,
        descriptions=descriptions,
        base_price=base_price,
        first_invoice=536365 + n_invoices,
    )
    frame = pd.concat([normal, planted], ignore_index=True)
    duplicates = frame.sample(n=int(len(frame) * duplicate_rate), random_state=seed)
    frame = pd.concat([frame, duplicates]).sort_values("InvoiceDate", kind="stable").reset_index(drop=True)

    csv_rows = pd.DataFrame(
        {
            "InvoiceNo": frame["InvoiceNo"],
            "StockCode": frame["StockCode"],
            "Description": frame["Description"],
            "Quantity": frame["Quantity"].astype(str),
            "InvoiceDate": _format_dates(frame["InvoiceDate"]),
            "UnitPrice": frame["UnitPrice"].round(2).astype(str),
            "CustomerID": frame["CustomerID"].astype(str).where(frame["CustomerID"] > 0, ""),
            "Country": frame["Country"],
        }
    )
    return csv_rows[EXPECTED_COLUMNS], labels


def _planted_anomalies(
    rng: np.random.Generator,
    count: int,
    *,
    customer_ids: np.ndarray,
    home_country: np.ndarray,
    stock_codes: np.ndarray,
    descriptions: np.ndarray,
    base_price: np.ndarray,
    first_invoice: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return one-line invoices that each break one habit, and their labels."""
    kind = np.array(ANOMALY_KINDS)[np.arange(count) % len(ANOMALY_KINDS)]
    customer = rng.integers(0, len(customer_ids), size=count)
    product = rng.integers(0, len(stock_codes), size=count)
    quantity = rng.choice([1, 2, 6, 12], size=count)
    price = base_price[product].copy()
    hour = np.clip(np.round(rng.normal(12.5, 2.0, size=count)), 8, 18).astype(int)
    country = home_country[customer].copy()

    huge = kind == "huge_quantity"
    quantity[huge] = rng.integers(2_000, 12_000, size=huge.sum())
    extreme = kind == "extreme_price"
    price[extreme] = np.round(price[extreme] * rng.uniform(60, 200, size=extreme.sum()), 2)
    odd = kind == "odd_hour"
    hour[odd] = rng.integers(1, 5, size=odd.sum())
    moved = kind == "new_country"
    country[moved] = rng.choice(OTHER_COUNTRIES, size=moved.sum())

    day = rng.integers(0, DAYS, size=count)
    dates = (
        START
        + pd.to_timedelta(day, unit="D")
        + pd.to_timedelta(hour * 60 + rng.integers(0, 60, size=count), unit="min")
    )
    invoice_no = (first_invoice + np.arange(count)).astype(str)
    planted = pd.DataFrame(
        {
            "InvoiceNo": invoice_no,
            "StockCode": stock_codes[product],
            "Description": descriptions[product],
            "Quantity": quantity,
            "InvoiceDate": dates,
            "UnitPrice": price,
            "CustomerID": customer_ids[customer],
            "Country": country,
        }
    )
    labels = pd.DataFrame(
        {"InvoiceNo": invoice_no, "StockCode": stock_codes[product], "CustomerID": customer_ids[customer], "kind": kind}
    )
    return planted, labels


def write_demo_csv(path: Path | str, rows: int = 5_000, *, seed: int = 0, labels_path: Path | str | None = None) -> int:
    """Write a demo file (latin-1, plain or .gz by its suffix) and optionally its labels; return rows written."""
    csv_rows, labels = generate_demo_frame(rows, seed=seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    csv_rows.to_csv(path, index=False, encoding="latin-1", lineterminator="\n")
    if labels_path is not None:
        labels.to_csv(labels_path, index=False)
    return len(csv_rows)
