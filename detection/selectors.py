"""Read paths for detection results, shared by the API and the dashboard. Return plain data.

Rows are dicts with snake_case keys; `PAYLOAD_NAMES` is the one place that maps them to the
names clients know (TotalSpent, HistFreq, UnusualDestination, QuantitySpike, RiskScore, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncDay, TruncWeek

from .models import ModelVersion, TransactionScore

# The seed's metrics, as clients name them, and the score column each reads.
METRICS: dict[str, str] = {
    "TotalSpent": "total_spent",
    "HistFreq": "hist_freq",
    "UnusualDestination": "unusual_destination",
    "QuantitySpike": "quantity_spike",
}
# Row keys -> payload names (the seed's column names stay as clients know them).
PAYLOAD_NAMES: dict[str, str] = {
    "customer_id": "CustomerID",
    "invoice_no": "InvoiceNo",
    "invoice_date": "InvoiceDate",
    "stock_code": "StockCode",
    "description": "Description",
    "quantity": "Quantity",
    "unit_price": "UnitPrice",
    "country": "Country",
    "total_spent": "TotalSpent",
    "hist_freq": "HistFreq",
    "unusual_destination": "UnusualDestination",
    "quantity_spike": "QuantitySpike",
    "zscore": "ZScore",
    "risk_score": "RiskScore",
    "iso_forest_score": "IsolationForest_Score",
    "iso_forest_flag": "IsolationForest_Flag",
    "autoencoder_score": "Autoencoder_Score",
    "autoencoder_flag": "Autoencoder_Flag",
    "anomaly_score": "anomaly_score",
    "is_common_anomaly": "is_common_anomaly",
    "is_flagged": "is_flagged",
    "explanation": "explanation",
    "transaction_id": "transaction_id",
    "price_deviation": "PriceDeviation",
    "transaction_hour": "TransactionHour",
    "transaction_day": "TransactionDay",
}
ROW_FIELDS = {
    "transaction_id": "transaction_id",
    "customer_id": "customer_id",
    "invoice_no": "transaction__invoice_no",
    "invoice_date": "invoice_date",
    "stock_code": "transaction__stock_code",
    "description": "transaction__description",
    "quantity": "transaction__quantity",
    "unit_price": "transaction__unit_price",
    "country": "country",
    "total_spent": "total_spent",
    "hist_freq": "hist_freq",
    "unusual_destination": "unusual_destination",
    "quantity_spike": "quantity_spike",
    "zscore": "zscore",
    "price_deviation": "price_deviation",
    "transaction_hour": "transaction_hour",
    "transaction_day": "transaction_day",
    "iso_forest_score": "iso_forest_score",
    "iso_forest_flag": "iso_forest_flag",
    "autoencoder_score": "autoencoder_score",
    "autoencoder_flag": "autoencoder_flag",
    "risk_score": "risk_score",
    "anomaly_score": "anomaly_score",
    "is_common_anomaly": "is_common_anomaly",
    "explanation": "explanation",
}
Scope = Literal["flagged", "all"]


class NoActiveModel(LookupError):
    """No model version has been trained and activated yet."""


def active_model_version() -> ModelVersion | None:
    """The active model version, or None before the first training."""
    return ModelVersion.objects.filter(is_active=True).first()


def require_active_model_version() -> ModelVersion:
    """The active model version; raise NoActiveModel when there is none."""
    version = active_model_version()
    if version is None:
        raise NoActiveModel("no model has been trained yet: run `manage.py train_models`")
    return version


def scores_for(version: ModelVersion) -> QuerySet[TransactionScore]:
    """Every score row of `version`."""
    return TransactionScore.objects.filter(model_version=version)


def _rows(queryset: QuerySet[TransactionScore]) -> list[dict[str, Any]]:
    """Evaluate `queryset` in one query as row dicts keyed as ROW_FIELDS."""
    values = queryset.values(*ROW_FIELDS.values())
    out = []
    for item in values:
        row = {key: item[path] for key, path in ROW_FIELDS.items()}
        row["unit_price"] = float(row["unit_price"])
        out.append(row)
    return out


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
    queryset = scores_for(version)
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    if scope == "flagged":
        queryset = queryset.filter(is_flagged=True)
    field = METRICS[metric]
    ordered = queryset.select_related("transaction").order_by(f"-{field}", "-anomaly_score", "transaction_id")
    return _rows(ordered[:limit])


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
    """Per day or week: scored rows, flagged rows and common anomalies (one grouped query)."""
    version = version or require_active_model_version()
    trunc = TruncWeek if period == "week" else TruncDay
    grouped = (
        scores_for(version)
        .annotate(period=trunc("invoice_date"))
        .values("period")
        .annotate(
            rows=Count("id"),
            flagged=Count("id", filter=Q(is_flagged=True)),
            common=Count("id", filter=Q(is_common_anomaly=True)),
        )
        .order_by("period")
    )
    return list(grouped)


def anomalies_by_country(*, version: ModelVersion | None = None) -> list[dict[str, Any]]:
    """Per country: scored rows, flagged rows, common anomalies; most flagged first."""
    version = version or require_active_model_version()
    grouped = (
        scores_for(version)
        .values("country")
        .annotate(
            rows=Count("id"),
            flagged=Count("id", filter=Q(is_flagged=True)),
            common=Count("id", filter=Q(is_common_anomaly=True)),
        )
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
    rows = _rows(scores_for(version).filter(transaction_id=transaction_id).select_related("transaction"))
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


# Server-side table reads (sorted, filtered, paged) and customer look-ups, for the dashboard and API.
FilterOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "between", "contains", "startswith", "is_true", "is_false"]
TABLE_FIELDS = [key for key in ROW_FIELDS if key != "explanation"]
_LOOKUPS = {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte", "contains": "icontains", "startswith": "istartswith"}


@dataclass(frozen=True)
class ColumnFilter:
    """One condition on a TABLE_FIELDS key; `value_to` is the upper bound of "between"."""

    field: str
    op: FilterOp
    value: Any = None
    value_to: Any = None


def _filter_q(condition: ColumnFilter) -> Q:
    """The Q object for one ColumnFilter; ValueError names an unknown field or operator."""
    if condition.field not in TABLE_FIELDS:
        raise ValueError(f"cannot filter on {condition.field!r}")
    path = ROW_FIELDS[condition.field]
    if condition.op == "eq":
        return Q(**{path: condition.value})
    if condition.op == "ne":
        return ~Q(**{path: condition.value})
    if condition.op == "between":
        return Q(**{f"{path}__gte": condition.value, f"{path}__lte": condition.value_to})
    if condition.op in ("is_true", "is_false"):
        return Q(**{path: condition.op == "is_true"})
    if condition.op in _LOOKUPS:
        return Q(**{f"{path}__{_LOOKUPS[condition.op]}": condition.value})
    raise ValueError(f"unknown filter operator {condition.op!r}")


def scores_page(
    *,
    offset: int = 0,
    limit: int = 100,
    order_by: tuple[str, ...] = ("-anomaly_score",),
    filters: tuple[ColumnFilter, ...] = (),
    version: ModelVersion | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of score rows and the count of rows matching `filters`.

    `order_by` holds TABLE_FIELDS keys, "-" first for descending; transaction_id breaks ties so
    pages never overlap. Raises ValueError naming an unknown field. Two queries.
    """
    version = version or require_active_model_version()
    ordering = []
    for key in order_by:
        name = key.removeprefix("-")
        if name not in TABLE_FIELDS:
            raise ValueError(f"cannot sort on {name!r}")
        ordering.append(("-" if key.startswith("-") else "") + ROW_FIELDS[name])
    queryset = scores_for(version)
    for condition in filters:
        queryset = queryset.filter(_filter_q(condition))
    page = queryset.select_related("transaction").order_by(*ordering, "transaction_id")[offset : offset + limit]
    return _rows(page), queryset.count()


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


def search_customers(prefix: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Customers whose CustomerID starts with the digits `prefix`, as {customer_id, country}, lowest first."""
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from transactions.models import Customer

    digits = "".join(char for char in prefix if char.isdigit())
    if not digits:
        return []
    matches = (
        Customer.objects.annotate(id_text=Cast("customer_id", CharField()))
        .filter(id_text__startswith=digits)
        .order_by("customer_id")
        .values("customer_id", "country")
    )
    return list(matches[:limit])


# Reads for the REST API: customer look-up, the filterable score list, model versions.
LISTED_FIELDS = {**ROW_FIELDS, "is_flagged": "is_flagged"}


def customer_exists(customer_id: int) -> bool:
    """Whether `customer_id` is a customer of the loaded data (scored or not)."""
    from transactions.models import Customer

    return Customer.objects.filter(pk=customer_id).exists()


def scored_transactions(version: ModelVersion | None = None) -> QuerySet[TransactionScore]:
    """The version's score rows as value dicts (`id` and LISTED_FIELDS paths), unevaluated.

    For callers that filter, order and page in the database; `listed_rows` turns a page into rows.
    """
    version = version or require_active_model_version()
    return scores_for(version).values("id", *LISTED_FIELDS.values())


def listed_rows(items: Any) -> list[dict[str, Any]]:
    """Row dicts keyed as LISTED_FIELDS from value dicts of `scored_transactions`."""
    return [{key: item[path] for key, path in LISTED_FIELDS.items()} for item in items]


def model_versions() -> QuerySet[ModelVersion]:
    """Every model version, newest first (the active one has is_active=True)."""
    return ModelVersion.objects.select_related("started_by").order_by("-created_at", "-id")


# Reads for evaluation against analysts' labels.
CLOSED_REVIEW_STATUSES = ("confirmed_fraud", "false_positive")
REVIEWED_FLAG_FIELDS = ("iso_forest_flag", "autoencoder_flag", "is_flagged", "is_common_anomaly")


def reviewed_flags(version: ModelVersion | None = None) -> list[dict[str, Any]]:
    """The version's flags on every transaction whose review is closed, with `confirmed` (fraud) per row.

    One query; rows of reviews still new or investigating are left out.
    """
    version = version or require_active_model_version()
    rows = (
        scores_for(version)
        .filter(transaction__review__status__in=CLOSED_REVIEW_STATUSES)
        .values("transaction_id", "transaction__review__status", *REVIEWED_FLAG_FIELDS)
    )
    return [
        {
            "transaction_id": row["transaction_id"],
            "confirmed": row["transaction__review__status"] == "confirmed_fraud",
            **{name: row[name] for name in REVIEWED_FLAG_FIELDS},
        }
        for row in rows
    ]
