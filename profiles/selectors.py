"""Read path for the customer profile: one customer's history summarised as plain data (API-ready)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from detection.selectors import active_model_version, scores_for
from reviews.models import Review
from transactions.models import Customer, Transaction

UK_TIME = "Europe/London"  # TransactionHour is in UK time, as in the scores
TOP_ITEMS = 10
LINE_FIELDS = ["id", "invoice_no", "invoice_date", "quantity", "unit_price", "country", "stock_code", "description"]


def customer_lines(customer_id: int) -> pd.DataFrame:
    """The customer's lines in one query, with `amount` (Quantity x UnitPrice) and the UK hour."""
    rows = Transaction.objects.filter(customer_id=customer_id).values_list(*LINE_FIELDS, "is_cancellation")
    frame = pd.DataFrame.from_records(list(rows), columns=[*LINE_FIELDS, "is_cancellation"])
    if frame.empty:
        return frame.assign(amount=pd.Series(dtype=float), hour=pd.Series(dtype=int))
    frame["unit_price"] = frame["unit_price"].astype(float)
    frame["amount"] = frame["quantity"] * frame["unit_price"]
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"], utc=True)
    frame["hour"] = frame["invoice_date"].dt.tz_convert(UK_TIME).dt.hour
    return frame


def flagged_transaction_ids(customer_id: int) -> set[int]:
    """The customer's rows flagged by either model under the active model (empty without one)."""
    version = active_model_version()
    if version is None:
        return set()
    flagged = scores_for(version).filter(customer_id=customer_id, is_flagged=True)
    return set(flagged.values_list("transaction_id", flat=True))


def invoices_over_time(lines: pd.DataFrame, flagged: set[int]) -> list[dict[str, Any]]:
    """One entry per invoice, oldest first: date, total, lines, cancellation, flagged (any line flagged)."""
    lines = lines.assign(flagged=lines["id"].isin(flagged))
    invoices = lines.groupby("invoice_no", sort=False).agg(
        date=("invoice_date", "min"),
        total=("amount", "sum"),
        lines=("id", "size"),
        cancellation=("is_cancellation", "any"),
        flagged=("flagged", "any"),
    )
    invoices = invoices.sort_values(["date"]).reset_index()
    return [
        {
            "invoice_no": row.invoice_no,
            "date": row.date.to_pydatetime(),
            "total": round(float(row.total), 2),
            "lines": int(row.lines),
            "cancellation": bool(row.cancellation),
            "flagged": bool(row.flagged),
        }
        for row in invoices.itertuples(index=False)
    ]


def countries(lines: pd.DataFrame) -> list[dict[str, Any]]:
    """Countries the customer bought from, in order of first purchase, with line counts."""
    grouped = lines.groupby("country").agg(first_seen=("invoice_date", "min"), lines=("id", "size"))
    grouped = grouped.sort_values("first_seen").reset_index()
    return [
        {"country": row.country, "first_seen": row.first_seen.to_pydatetime(), "lines": int(row.lines)}
        for row in grouped.itertuples(index=False)
    ]


def usual_hours(lines: pd.DataFrame) -> list[dict[str, Any]]:
    """Lines per UK hour of the day (only hours with purchases), and each hour's share."""
    counts = lines["hour"].value_counts().sort_index()
    total = int(counts.sum()) or 1
    return [{"hour": int(hour), "lines": int(count), "share": count / total} for hour, count in counts.items()]


def typical_amounts(lines: pd.DataFrame) -> dict[str, float | None]:
    """Median and range (5th-95th percentile, min, max) of purchase line amounts, cancellations left out."""
    amounts = lines.loc[~lines["is_cancellation"], "amount"]
    if amounts.empty:
        return {"median": None, "p5": None, "p95": None, "min": None, "max": None}
    quantiles = amounts.quantile([0.05, 0.5, 0.95])
    return {
        "median": float(quantiles[0.5]),
        "p5": float(quantiles[0.05]),
        "p95": float(quantiles[0.95]),
        "min": float(amounts.min()),
        "max": float(amounts.max()),
    }


def top_items(lines: pd.DataFrame, *, limit: int = TOP_ITEMS) -> list[dict[str, Any]]:
    """The items bought most (by quantity, cancellations left out) with their line count and amount."""
    bought = lines.loc[~lines["is_cancellation"]]
    grouped = bought.groupby("stock_code").agg(
        description=("description", "last"),
        quantity=("quantity", "sum"),
        lines=("id", "size"),
        amount=("amount", "sum"),
    )
    grouped = grouped.sort_values(["quantity", "lines"], ascending=False).head(limit).reset_index()
    return [
        {
            "stock_code": row.stock_code,
            "description": row.description,
            "quantity": int(row.quantity),
            "lines": int(row.lines),
            "amount": float(row.amount),
        }
        for row in grouped.itertuples(index=False)
    ]


def cancellations(lines: pd.DataFrame) -> dict[str, Any]:
    """How much the customer cancelled: lines, invoices, amount, share of lines."""
    cancelled = lines.loc[lines["is_cancellation"]]
    return {
        "lines": len(cancelled),
        "invoices": int(cancelled["invoice_no"].nunique()),
        "amount": float(cancelled["amount"].sum()),
        "share": len(cancelled) / len(lines) if len(lines) else 0.0,
    }


def customer_reviews(customer_id: int) -> list[dict[str, Any]]:
    """The reviews of the customer's transactions, latest first, with verdict, assignee and note."""
    reviews = (
        Review.objects.filter(transaction__customer_id=customer_id)
        .select_related("analyst", "transaction")
        .order_by("-updated_at")
    )
    return [
        {
            "transaction_id": review.transaction_id,
            "invoice_no": review.transaction.invoice_no,
            "status": review.status,
            "status_label": review.get_status_display(),
            "analyst": review.analyst.get_username() if review.analyst else None,
            "note": review.note,
            "updated_at": review.updated_at,
        }
        for review in reviews
    ]


def customer_profile(customer_id: int) -> dict[str, Any] | None:
    """The customer's profile, or None when no such customer exists. Five queries, whatever the history."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return None
    lines = customer_lines(customer_id)
    flagged = flagged_transaction_ids(customer_id)
    reviews = customer_reviews(customer_id)
    verdicts = pd.Series([review["status"] for review in reviews], dtype=object).value_counts()
    return {
        "customer_id": customer.customer_id,
        "country": customer.country,
        "first_seen": customer.first_seen,
        "last_seen": customer.last_seen,
        "invoice_count": int(lines["invoice_no"].nunique()) if len(lines) else 0,
        "line_count": len(lines),
        "flagged_lines": len(flagged),
        "invoices": invoices_over_time(lines, flagged) if len(lines) else [],
        "countries": countries(lines) if len(lines) else [],
        "hours": usual_hours(lines) if len(lines) else [],
        "amounts": typical_amounts(lines),
        "top_items": top_items(lines) if len(lines) else [],
        "cancellations": cancellations(lines),
        "reviews": reviews,
        "verdicts": {str(status): int(count) for status, count in verdicts.items()},
    }
