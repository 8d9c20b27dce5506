"""Read paths for detection results, shared by the API and the dashboard. Return plain data.

Rows are dicts keyed as `fields.ORM_PATHS` (snake_case); the names clients know (TotalSpent,
HistFreq, ...) are given at the edges from the same registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from functools import cache, lru_cache
from typing import Any, Literal

from django.db import router
from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from core.prepared import INT_MARKERS, PreparedQuery, in_integer_range
from transactions.models import Transaction

from .errors import NoActiveModel
from .fields import METRICS, ORM_PATHS
from .models import DailyScoreCount, ModelVersion, TransactionScore

__all__ = ["METRICS", "NoActiveModel"]

Scope = Literal["flagged", "all"]


@cache
def _active_version_query(only: tuple[str, ...]) -> tuple[list[str], PreparedQuery]:
    """The columns `.only(*only).first()` reads of the active version (all without `only`), and that
    query compiled once (it ran on every API request that reads scores)."""
    for name in only:
        ModelVersion._meta.get_field(name)  # an unknown name raises, as .only() does
    names = [
        field.attname
        for field in ModelVersion._meta.concrete_fields
        if not only or field.primary_key or field.name in only or field.attname in only
    ]
    return names, PreparedQuery(
        ModelVersion, lambda: ModelVersion.objects.filter(is_active=True).values_list(*names)[:1]
    )


def active_model_version(only: tuple[str, ...] = ()) -> ModelVersion | None:
    """The active model version, or None before the first training; with `only` (field names), just
    those fields are read now (the others on first access: the JSON figures cost more than the query
    on a hot path)."""
    names, query = _active_version_query(tuple(only))
    row = query.first()
    return None if row is None else ModelVersion.from_db(router.db_for_read(ModelVersion), names, row)


def require_active_model_version(only: tuple[str, ...] = ()) -> ModelVersion:
    """The active model version; raise NoActiveModel when there is none."""
    version = active_model_version(only)
    if version is None:
        raise NoActiveModel()
    return version


def scores_for(version: ModelVersion) -> QuerySet[TransactionScore]:
    """Every score row of `version`."""
    return TransactionScore.objects.filter(model_version=version)


def row_dicts(queryset: QuerySet[TransactionScore]) -> list[dict[str, Any]]:
    """Evaluate `queryset` in one query as row dicts keyed as the registry's listed fields."""
    return listed_rows(queryset.values(*ORM_PATHS.values()))


def ranked_anomalies(
    *,
    metric: str,
    customer_id: int | None = None,
    scope: Scope = "flagged",
    limit: int = 10,
    version: ModelVersion | None = None,
) -> list[dict[str, Any]]:
    """Return the rows with the highest `metric` (a METRICS key), ties broken by anomaly_score.

    With `customer_id`, that customer's rows; otherwise all customers'. `scope="flagged"` keeps rows
    flagged by either model; "all" keeps every scored row. One query, whatever the row count.
    """
    version = version or require_active_model_version()
    if customer_id is not None and not in_integer_range(TransactionScore, "customer_id", customer_id):
        return []  # as the ORM answers a lookup outside the column's range
    query = _ranked_query(METRICS[metric], scope, customer_id is not None, limit)
    values = (version.pk,) if customer_id is None else (version.pk, customer_id)
    paths = list(ORM_PATHS.values())
    return listed_rows(dict(zip(paths, row, strict=True)) for row in query.rows(*values))


@lru_cache(maxsize=256)
def _ranked_query(field: str, scope: Scope, by_customer: bool, limit: int) -> PreparedQuery:
    """ranked_anomalies' query for one metric column, scope, with or without a customer, and limit,
    compiled once: its arguments are the version's id and the customer's."""

    def build(version_id: int, customer_id: int | None = None) -> QuerySet:
        queryset = TransactionScore.objects.filter(model_version_id=version_id)
        if by_customer:
            queryset = queryset.filter(customer_id=customer_id)
        if scope == "flagged":
            queryset = queryset.filter(is_flagged=True)
        ordered = queryset.order_by(f"-{field}", "-anomaly_score", "transaction_id")
        return ordered.values_list(*ORM_PATHS.values())[:limit]

    return PreparedQuery(TransactionScore, build, *INT_MARKERS[: 2 if by_customer else 1])


def customer_has_scores(customer_id: int, version: ModelVersion | None = None) -> bool:
    """Whether the customer has any scored transaction under `version` (default: active)."""
    version = version or require_active_model_version()
    return scores_for(version).filter(customer_id=customer_id).exists()


@dataclass(frozen=True)
class HeadlineFigures:
    version_id: int
    trained_at: datetime | None
    activated_at: datetime | None
    transactions_scored: int
    customers: int
    iso_forest_flags: int
    autoencoder_flags: int
    common_anomalies: int
    flagged_either: int
    risk_score_ones: int


def headline_figures(version: ModelVersion | None = None) -> HeadlineFigures:
    """The active model's headline counts, read from the metrics stored at training."""
    version = version or require_active_model_version()
    metrics = version.metrics
    return HeadlineFigures(
        version_id=version.pk,
        trained_at=version.finished_at,
        activated_at=version.activated_at,
        transactions_scored=metrics.get("rows", 0),
        customers=metrics.get("customers", 0),
        iso_forest_flags=metrics.get("iso_forest_flags", 0),
        autoencoder_flags=metrics.get("autoencoder_flags", 0),
        common_anomalies=metrics.get("common_anomalies", 0),
        flagged_either=metrics.get("flagged_either", 0),
        risk_score_ones=metrics.get("risk_score_ones", 0),
    )


def anomalies_over_time(
    *, period: Literal["day", "week"] = "week", version: ModelVersion | None = None
) -> list[dict[str, Any]]:
    """Per day or week (local midnight of its first day): scored rows, flagged rows and common anomalies.

    Sums the version's daily counts (detection.daily_counts) in one grouped query.
    """
    version = version or require_active_model_version()
    first_day = TruncWeek("day") if period == "week" else F("day")
    grouped = (
        DailyScoreCount.objects.filter(model_version=version)
        .annotate(first_day=first_day)
        .values("first_day")
        .annotate(rows=Sum("scored"), flagged=Sum("flagged"), common=Sum("common"))
        .order_by("first_day")
    )
    zone = timezone.get_current_timezone()
    return [
        {"period": timezone.make_aware(datetime.combine(row.pop("first_day"), time.min), zone), **row}
        for row in grouped
    ]


def anomalies_by_country(*, version: ModelVersion | None = None) -> list[dict[str, Any]]:
    """Per country: scored rows, flagged rows, common anomalies; most flagged first (from the daily counts)."""
    version = version or require_active_model_version()
    grouped = (
        DailyScoreCount.objects.filter(model_version=version)
        .values("country")
        .annotate(rows=Sum("scored"), flagged=Sum("flagged"), common=Sum("common"))
        .order_by("-flagged", "country")
    )
    return list(grouped)


def score_distribution(version: ModelVersion | None = None) -> dict[str, Any]:
    """The anomaly_score histogram stored at training, with the flag-rate quantiles."""
    version = version or require_active_model_version()
    return {
        "histogram": version.metrics.get("anomaly_score_histogram", {"edges": [], "counts": []}),
        "quantiles": version.metrics.get("anomaly_score_quantiles", {}),
    }


def transaction_detail(transaction_id: int, version: ModelVersion | None = None) -> dict[str, Any] | None:
    """One scored transaction with the customer's usual values (means over their scored rows).

    Returns None when the transaction has no score under the version. Two queries.
    """
    version = version or require_active_model_version()
    rows = row_dicts(scores_for(version).filter(transaction_id=transaction_id))
    if not rows:
        return None
    row = rows[0]
    usual = (
        scores_for(version)
        .filter(customer_id=row["customer_id"])
        .aggregate(
            total_spent=Avg("total_spent"),
            transaction_hour=Avg("transaction_hour"),
            price_deviation=Avg("price_deviation"),
            lines=Count("id"),
            flagged=Count("id", filter=Q(is_flagged=True)),
        )
    )
    return {"row": row, "customer_usual": usual}


def customers_by_anomalies(*, limit: int = 20, version: ModelVersion | None = None) -> list[dict[str, Any]]:
    """The customers with the most flagged rows, as {customer_id, flagged}, most flagged first."""
    version = version or require_active_model_version()
    grouped = (
        scores_for(version)
        .filter(is_flagged=True)
        .values("customer_id")
        .annotate(flagged=Count("id"))
        .order_by("-flagged", "customer_id")
    )
    return list(grouped[:limit])


# Reads for the REST API: the filterable score list, model versions.


def scored_transactions(version: ModelVersion | None = None) -> QuerySet[TransactionScore]:
    """The version's score rows as value dicts (`id` and the listed fields' paths), unevaluated.

    For callers that filter, order and page in the database; `listed_rows` turns a page into rows.
    """
    version = version or require_active_model_version()
    return scores_for(version).values("id", *ORM_PATHS.values())


def listed_rows(items: Any) -> list[dict[str, Any]]:
    """Row dicts keyed as the registry's listed fields from value dicts of `ORM_PATHS`."""
    rows = [{key: item[path] for key, path in ORM_PATHS.items()} for item in items]
    for row in rows:
        row["unit_price"] = float(row["unit_price"])
    return rows


def model_versions() -> QuerySet[ModelVersion]:
    """Every model version, newest first (the active one has is_active=True)."""
    return ModelVersion.objects.select_related("started_by").order_by("-created_at", "-id")


def recent_customer_history(customer_id: int, *, limit: int = 20) -> list[Transaction]:
    """The customer's latest transactions, newest first, each with `anomaly_score` under the active model (or None)."""
    active_score = TransactionScore.objects.filter(transaction_id=OuterRef("pk"), model_version__is_active=True).values(
        "anomaly_score"
    )[:1]
    recent = (
        Transaction.objects.filter(customer_id=customer_id)
        .order_by("-invoice_date", "-id")
        .annotate(anomaly_score=Subquery(active_score))
    )
    return list(recent[:limit])
