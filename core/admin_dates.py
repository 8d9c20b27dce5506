"""Admin plumbing shared by every changelist over a large dated table."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

from django.db.models import Exists, Max, Min, QuerySet
from django.utils import timezone

MAX_PROBES = 400


class IndexedDatesQuerySet(QuerySet):
    """A QuerySet whose datetimes() probes each candidate year, month or day with one EXISTS each.

    Django's date hierarchy asks `queryset.datetimes(field, kind)`, which on SQLite truncates every
    row's date in Python (4.5 s on 536k rows); here one query of indexed EXISTS answers it.
    """

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        zone = tzinfo or timezone.get_current_timezone()
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        periods = _periods(bounds["first"].astimezone(zone), bounds["last"].astimezone(zone), kind, zone)
        if periods is None or len(periods) > MAX_PROBES:
            return super().datetimes(field_name, kind, order=order, tzinfo=tzinfo)
        probes = {
            f"p{index}": Exists(self.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end}))
            for index, (start, end) in enumerate(periods)
        }
        rows = self.model._base_manager.using(self.db).order_by().annotate(**probes).values_list(*probes)[:1]
        hits = next(iter(rows), ())
        starts = [start for (start, _), hit in zip(periods, hits, strict=False) if hit]
        return starts if order == "ASC" else starts[::-1]


def _periods(first: datetime, last: datetime, kind: str, zone) -> list[tuple[datetime, datetime]] | None:
    """Return (start, end) of each local year, month or day from `first` to `last`, as aware datetimes."""
    if kind == "year":
        starts = [datetime(year, 1, 1) for year in range(first.year, last.year + 2)]
    elif kind == "month":
        months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month + 1)
        starts = [datetime(month // 12, month % 12 + 1, 1) for month in months]
    elif kind == "day":
        day = datetime(first.year, first.month, first.day)
        starts = [day + timedelta(days=offset) for offset in range((last.date() - first.date()).days + 2)]
    else:
        return None
    aware = [timezone.make_aware(start, zone) for start in starts]
    return list(pairwise(aware))
