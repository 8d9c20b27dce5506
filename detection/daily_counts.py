"""The per-day, per-country score counts (DailyScoreCount) that the over-time and per-country charts read.

Why a table rather than one GROUP BY at read time: the charts group by the invoice's day in UK time,
and on SQLite that conversion is a Python function called for every score row (2.4-3.6 s uncached
for 401,604 rows); PostgreSQL converts in SQL but still reads every row of the version (230-280 ms).
The counts hold a few thousand rows per version (days x countries): both charts read them in under
100 ms on either database (figures in README.md, `python bench/dashboard_scale.py`). The price is
paid once per write: counting a whole version takes about 6 s on SQLite (the same Python function,
once per row) and 1 s on PostgreSQL.

They are kept equal to the score rows with bulk SQL, in the transaction that writes the scores:
after an insert, the days the new rows fall on are counted again from the score rows (DELETE, then
INSERT ... SELECT ... GROUP BY); a whole version's rows are counted in one statement. Recounting
(rather than adding to the counts) is idempotent, so a retried chunk that skipped rows already
stored counts them once. On PostgreSQL a transaction-scoped advisory lock per version makes
concurrent writers recount one after the other, each seeing the rows the previous one committed.
Where score rows of a version are deleted (detection.services), its counts are deleted with them; a
deleted version takes its counts along (CASCADE); a deleted transaction's day is counted again
(detection.receivers).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.bulk import bulk_insert_frame

from .models import DailyScoreCount, ModelVersion, TransactionScore

# pg_advisory_xact_lock(namespace, version id): the namespace keeps these locks apart from others.
_LOCK_NAMESPACE = 0x5C0DE
# Beyond this many separate runs of days, one range from the first day to the last is recounted.
_MAX_SPANS = 50
# Each count other than "scored" and the score column whose true values it counts.
COUNTED_FLAGS = {
    "flagged": "is_flagged",
    "common": "is_common_anomaly",
    "iso_forest_flagged": "iso_forest_flag",
    "autoencoder_flagged": "autoencoder_flag",
}
COUNTED = {"scored": Q(), **{name: Q(**{column: True}) for name, column in COUNTED_FLAGS.items()}}


def grouped_counts(scores: QuerySet) -> QuerySet:
    """`scores` grouped by version, local day and country, with the COUNTED columns, in table order."""
    counts = {name: Count("id", filter=condition) if condition else Count("id") for name, condition in COUNTED.items()}
    return (
        scores.annotate(day=TruncDate("invoice_date", tzinfo=timezone.get_default_timezone()))
        .values("model_version", "day", "country")
        .annotate(**counts)
        .order_by()
    )


def _insert_counts(scores: QuerySet) -> None:
    """INSERT ... SELECT the grouped counts of `scores` into the DailyScoreCount table."""
    select, params = grouped_counts(scores).query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in ("model_version_id", "day", "country", *COUNTED))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(DailyScoreCount._meta.db_table)} ({columns}) {select}", params)


def _lock(version_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, version_id])


def _local_day_stamps(invoice_dates: pd.Series) -> pd.Series:
    """Each aware or UTC-naive invoice date's local day (site time zone), as a naive midnight timestamp."""
    stamps = pd.to_datetime(invoice_dates, utc=True).dt.tz_convert(timezone.get_default_timezone())
    return stamps.dt.tz_localize(None).dt.floor("D")


def local_days(invoice_dates: pd.Series) -> np.ndarray:
    """The distinct local days (site time zone) of aware or UTC-naive invoice dates, sorted, as datetime64[D]."""
    return np.unique(_local_day_stamps(invoice_dates).to_numpy().astype("datetime64[D]"))


def day_spans(days: np.ndarray) -> list[tuple[date, date]]:
    """Runs of consecutive days as (first, last) pairs; one pair for all when there are more than _MAX_SPANS."""
    if len(days) == 0:
        return []
    breaks = np.flatnonzero(np.diff(days).astype(int) > 1)
    firsts = np.concatenate([days[:1], days[breaks + 1]])
    lasts = np.concatenate([days[breaks], days[-1:]])
    if len(firsts) > _MAX_SPANS:
        firsts, lasts = firsts[:1], lasts[-1:]
    return [(first.item(), last.item()) for first, last in zip(firsts, lasts, strict=True)]


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def recount_version(version: ModelVersion | int) -> None:
    """Count every score row of `version` again (a repair: writes keep the counts current)."""
    version_id = getattr(version, "pk", version)
    with transaction.atomic():
        _lock(version_id)
        DailyScoreCount.objects.filter(model_version_id=version_id).delete()
        _insert_counts(TransactionScore.objects.filter(model_version_id=version_id))


def count_first_write(version: ModelVersion | int, scores: pd.DataFrame) -> None:
    """Store the counts of a version's first score write from the written rows themselves.

    Equal to `recount_version` when `scores` are all of the version's rows (a training run writes
    them at once), without a second pass over the table: on SQLite that pass converts each row's
    date in a Python function (about 6 s for the real file), here pandas converts them at once.
    """
    store_first_write_counts(version, first_write_counts(scores))


def first_write_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """The (day, country) counts of score rows, one row per day and country."""
    counts = pd.DataFrame(
        {
            "day": _local_day_stamps(scores["invoice_date"]).dt.date,
            "country": scores["country"],
            "scored": 1,
            **{name: scores[column].eq(True).astype(int) for name, column in COUNTED_FLAGS.items()},
        }
    )
    return summed_counts([counts])


def summed_counts(counts: list[pd.DataFrame]) -> pd.DataFrame:
    """`first_write_counts` of several frames of rows summed per day and country: the counts of all
    their rows together (a training run counts its parts one by one)."""
    return pd.concat(counts, ignore_index=True).groupby(["day", "country"], sort=True, dropna=False).sum().reset_index()


def store_first_write_counts(version: ModelVersion | int, counts: pd.DataFrame) -> None:
    """Replace the version's counts with `counts` (`first_write_counts`)."""
    version_id = getattr(version, "pk", version)
    counts = counts.copy()
    counts.insert(0, "model_version_id", version_id)
    with transaction.atomic():
        _lock(version_id)
        DailyScoreCount.objects.filter(model_version_id=version_id).delete()
        bulk_insert_frame(DailyScoreCount, counts)


def recount_days(version: ModelVersion | int, invoice_dates: pd.Series) -> None:
    """Count again the score rows of `version` on the local days of `invoice_dates` (rows just written).

    Call it in the transaction that wrote them. A whole version's dates (training) make one range of
    days, recounted by one statement.
    """
    version_id = getattr(version, "pk", version)
    spans = day_spans(local_days(invoice_dates))
    if not spans:
        return
    on_days = Q()
    in_dates = Q()
    for first, last in spans:
        on_days |= Q(day__range=(first, last))
        in_dates |= Q(invoice_date__gte=_local_midnight(first), invoice_date__lt=_local_midnight(last + timedelta(1)))
    with transaction.atomic():
        _lock(version_id)
        DailyScoreCount.objects.filter(on_days, model_version_id=version_id).delete()
        _insert_counts(TransactionScore.objects.filter(in_dates, model_version_id=version_id))
