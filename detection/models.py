"""Tables for detection results: model versions and per-transaction scores."""

from django.db import models
from django.db.models import Q

from core.model_fields import user_reference


class ModelVersion(models.Model):
    """One training run: its parameters, thresholds, metrics and artifact files."""

    class Status(models.TextChoices):
        TRAINING = "training"
        ACTIVE = "active"
        FAILED = "failed"
        RETIRED = "retired"

    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING, db_index=True)
    is_active = models.BooleanField(default=False)
    seed = models.IntegerField(default=0)
    parameters = models.JSONField(default=dict, blank=True)
    features = models.JSONField(default=list, blank=True, help_text="Model input columns, in order.")
    training_rows = models.PositiveIntegerField(default=0)
    thresholds = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    artifacts = models.JSONField(default=dict, blank=True, help_text="name -> {path, sha256}")
    error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of a running training.")
    started_by = user_reference()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version")
        ]

    def __str__(self) -> str:
        return f"v{self.pk} ({self.status})"


class TransactionScore(models.Model):
    """The features, scores, flags and explanation of one transaction under one model version.

    `customer_id`, `invoice_date` and `country` repeat the transaction's so that per-customer,
    over-time and per-country reads need no join.
    """

    transaction = models.ForeignKey("transactions.Transaction", on_delete=models.CASCADE, related_name="scores")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="scores")
    customer_id = models.PositiveIntegerField(help_text="CustomerID.")
    invoice_date = models.DateTimeField(help_text="ISO 8601 in UK time (Europe/London), with its offset.")
    country = models.CharField(max_length=64)

    total_spent = models.FloatField(help_text="Quantity x UnitPrice.")
    hist_freq = models.PositiveIntegerField(help_text="The customer's distinct invoices in the training data.")
    unusual_destination = models.BooleanField(help_text="1 when the country is not the customer's usual one, else 0.")
    quantity_spike = models.BooleanField(help_text="1 when the quantity is over 3 standard deviations from the mean.")
    zscore = models.FloatField(help_text="TotalSpent's z-score within the customer's history (clipped to +-50).")
    price_deviation = models.FloatField(help_text="log1p(UnitPrice) - log1p(the StockCode's median price).")
    transaction_hour = models.PositiveSmallIntegerField(help_text="0..23, UK time.")
    transaction_day = models.PositiveSmallIntegerField(help_text="0 = Monday.")

    iso_forest_score = models.FloatField(help_text="Isolation Forest percentile rank, 0..1.")
    iso_forest_flag = models.BooleanField(help_text="Flagged by the Isolation Forest.")
    autoencoder_mse = models.FloatField(help_text="The autoencoder's reconstruction error (mean squared).")
    autoencoder_score = models.FloatField(help_text="Autoencoder reconstruction-error percentile rank, 0..1.")
    autoencoder_flag = models.BooleanField(help_text="Flagged by the autoencoder.")
    risk_score = models.FloatField(help_text="1.0 if ZScore > 3 or Autoencoder_Score > 0.85, else 0.0.")
    anomaly_score = models.FloatField(help_text="Mean of the two percentile ranks, 0..1.")
    is_flagged = models.BooleanField(help_text="Flagged by either model.")
    is_common_anomaly = models.BooleanField(help_text="Flagged by both models.")
    explanation = models.JSONField(
        default=list, blank=True, help_text="For flagged rows: the features that weigh most in the error; else []."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_version", "transaction"], name="one_score_per_version"),
        ]
        indexes = [
            models.Index(fields=["model_version", "customer_id", "is_flagged"], name="score_customer"),
            models.Index(fields=["model_version", "-anomaly_score"], name="score_rank"),
            models.Index(fields=["model_version", "is_flagged", "-anomaly_score"], name="score_flagged_rank"),
            models.Index(fields=["model_version", "invoice_date"], name="score_date"),
            # the admin's country filter, ranked by anomaly score
            models.Index(fields=["model_version", "country", "-anomaly_score"], name="score_country_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} @ v{self.model_version_id}: {self.anomaly_score:.3f}"
