"""Tables for detection results: model versions and per-transaction scores."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """One training run: its parameters, thresholds, metrics and artifact files."""

    class Status(models.TextChoices):
        TRAINING = "training"
        READY = "ready"
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
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

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
    customer_id = models.PositiveIntegerField()
    invoice_date = models.DateTimeField()
    country = models.CharField(max_length=64)

    total_spent = models.FloatField()
    hist_freq = models.PositiveIntegerField()
    unusual_destination = models.BooleanField()
    quantity_spike = models.BooleanField()
    zscore = models.FloatField()
    price_deviation = models.FloatField(help_text="log of unit price over the StockCode's median price")
    transaction_hour = models.PositiveSmallIntegerField()
    transaction_day = models.PositiveSmallIntegerField(help_text="0 = Monday")

    iso_forest_score = models.FloatField(help_text="Isolation Forest anomaly score as a percentile rank, 0..1")
    iso_forest_flag = models.BooleanField()
    autoencoder_mse = models.FloatField()
    autoencoder_score = models.FloatField(help_text="Reconstruction error as a percentile rank, 0..1")
    autoencoder_flag = models.BooleanField()
    risk_score = models.FloatField(help_text="1.0 if ZScore > 3 or autoencoder_score > 0.85, else 0.0")
    anomaly_score = models.FloatField(help_text="Mean of the two models' percentile ranks, 0..1")
    is_flagged = models.BooleanField(help_text="Flagged by either model")
    is_common_anomaly = models.BooleanField(help_text="Flagged by both models")
    explanation = models.JSONField(default=list, blank=True)

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


class Review(models.Model):
    """An analyst's verdict on one flagged transaction; every change is kept as a ReviewEvent.

    A flagged transaction without a Review is implicitly `new`: the row is created on its first change.
    """

    class Status(models.TextChoices):
        NEW = "new"
        INVESTIGATING = "investigating"
        CONFIRMED_FRAUD = "confirmed_fraud", "Confirmed fraud"
        FALSE_POSITIVE = "false_positive", "False positive"

    transaction = models.OneToOneField("transactions.Transaction", on_delete=models.PROTECT, related_name="review")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was last confirmed or dismissed.")

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["status", "-updated_at"], name="review_status"),
            models.Index(fields=["analyst", "status"], name="review_analyst"),
        ]

    def __str__(self) -> str:
        return f"review of {self.transaction_id}: {self.status}"


class ReviewEvent(models.Model):
    """One change of a review: who, when, the status before and after, the assignee and note given."""

    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(db_index=True)
    from_status = models.CharField(max_length=20, choices=Review.Status.choices)
    to_status = models.CharField(max_length=20, choices=Review.Status.choices)
    analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The assignee after the change.",
    )
    note = models.TextField(blank=True, help_text="The note written with the change, if any.")

    class Meta:
        ordering = ["review", "at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status} at {self.at:%Y-%m-%d %H:%M}"
