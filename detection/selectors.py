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
