"""Receivers detection connects to models below it: the daily counts and the grid's stored sort orders
follow a transaction's deletion."""

from __future__ import annotations

import pandas as pd
from django.db.models.signals import post_delete

from transactions.models import Transaction

from . import sort_orders
from .daily_counts import local_days, recount_days
from .models import DailyScoreCount


def recount_after_transaction_delete(sender, instance: Transaction, **kwargs) -> None:
    """Count the deleted transaction's day again in every version that counts it.

    Deleting a transaction (in the admin, or with its customer) deletes its score rows by CASCADE;
    the daily counts the charts read would keep counting them. Runs inside the deletion's
    transaction, after the score rows are gone. Bulk deletes in SQL (version pruning) send no signal
    and delete the counts with the rows (detection.services)."""
    dates = pd.Series(pd.to_datetime([instance.invoice_date], utc=True))
    versions = (
        DailyScoreCount.objects.filter(day=local_days(dates)[0].astype(object))
        .values_list("model_version_id", flat=True)
        .distinct()
    )
    for version_id in list(versions):
        recount_days(version_id, dates)


def drop_sort_orders_after_transaction_delete(sender, instance: Transaction, **kwargs) -> None:
    """Remove every version's stored grid orders (detection.sort_orders): they still list the deleted
    rows, and a row scored later would give them the version's row count again. The grid reads those
    sorts from the database until the orders are written anew (the next training or scoring run)."""
    sort_orders.drop_orders()


def connect() -> None:
    post_delete.connect(recount_after_transaction_delete, sender=Transaction, dispatch_uid="detection-daily-counts")
    post_delete.connect(
        drop_sort_orders_after_transaction_delete, sender=Transaction, dispatch_uid="detection-sort-orders"
    )
