"""Tables for detection results: model versions and per-transaction scores."""

from django.db import models
from django.db.models import Q

from core.model_fields import user_reference


class ModelVersion(models.Model):
    """One training run: its parameters, thresholds, metrics and artifact files."""

    class Status(models.TextChoices):
        TRAINING = "training"
        CANDIDATE = "candidate"  # trained and scored, not activated: compared with the active one first
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
    over-time and per-country reads need no join; the transaction's other listed columns
    (`invoice_no` .. `unit_price`, last) so that the grid filters and sorts on them without one.
    Transactions are never changed in place (ingest only adds rows; the admin shows them read-only).
    """

    transaction = models.ForeignKey("transactions.Transaction", on_delete=models.CASCADE, related_name="scores")
    # no index of its own: the unique (model_version, transaction) index serves lookups by version
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="scores", db_index=False)
    customer_id = models.PositiveIntegerField(help_text="CustomerID.")
    invoice_date = models.DateTimeField(help_text="ISO 8601 in UK time (Europe/London), with its offset.")
    country = models.CharField(max_length=64)

    total_spent = models.FloatField(help_text="Quantity x UnitPrice.")
    hist_freq = models.PositiveIntegerField(
        help_text="The customer's invoices strictly before this one (0 = first purchase)."
    )
    unusual_destination = models.BooleanField(
        help_text="1 on a first purchase from this country by a customer with earlier invoices, else 0."
    )
    quantity_spike = models.BooleanField(
        help_text="1 when the quantity's robust z against the customer's earlier lines is over 3.5."
    )
    zscore = models.FloatField(
        help_text="TotalSpent's robust z (median, MAD; log scale) against the customer's earlier lines, +-50."
    )
    price_deviation = models.FloatField(
        help_text="log(UnitPrice / the item's median price in the 30 days before this day, or its latest)."
    )
    transaction_hour = models.PositiveSmallIntegerField(help_text="0..23, UK time.")
    transaction_day = models.PositiveSmallIntegerField(help_text="0 = Monday.")

    iso_forest_score = models.FloatField(help_text="Isolation Forest percentile rank among training sale lines, 0..1.")
    iso_forest_flag = models.BooleanField(help_text="A sale line in the Isolation Forest's top 2 %.")
    autoencoder_mse = models.FloatField(help_text="The autoencoder's reconstruction error (mean squared).")
    autoencoder_score = models.FloatField(help_text="Autoencoder reconstruction-error percentile rank, 0..1.")
    autoencoder_flag = models.BooleanField(help_text="A sale line in the autoencoder's top 2 %.")
    risk_score = models.FloatField(help_text="1.0 if ZScore > 3 or Autoencoder_Score > 0.85, else 0.0.")
    anomaly_score = models.FloatField(
        help_text=(
            "Sales: 1 - exp(-fused surprise): the smallest calibrated tail probability (tail detector, "
            "forest), blended with the supervised layer once analysts gave enough verdicts and moved by "
            "their feedback; else 0."
        )
    )
    is_flagged = models.BooleanField(
        help_text="A sale line in the fused score's top 2 %, or a line a documented rule flags."
    )
    is_common_anomaly = models.BooleanField(help_text="Flagged by both the Isolation Forest and the autoencoder.")
    explanation = models.JSONField(
        default=list, blank=True, help_text="For flagged rows: the features that weigh most in the error; else []."
    )
    kind = models.CharField(
        max_length=16,
        choices=[("sale", "sale"), ("cancellation", "cancellation"), ("non_product", "non-product")],
        default="sale",
        help_text="sale, cancellation or non_product (postage, fees, adjustments): detection.kinds.",
    )
    original_transaction = models.ForeignKey(
        "transactions.Transaction",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        help_text="For a cancellation: the sale it undoes, when one was found; else null.",
    )
    flag_reasons = models.JSONField(
        default=list,
        blank=True,
        help_text='Why the row was flagged, in words: [{"key", "values", "surprise", "text"}], strongest first.',
    )
    # The transaction's columns, as Transaction defines them (same types, so the same comparisons,
    # collation and NULL placement), written with the row (detection.score_writes).
    invoice_no = models.CharField(max_length=20, help_text="InvoiceNo (C... for a cancellation).")
    stock_code = models.CharField(max_length=32)
    description = models.CharField(max_length=255, blank=True)
    quantity = models.IntegerField(help_text="Negative for cancellations.")
    unit_price = models.DecimalField(max_digits=12, decimal_places=3)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_version", "transaction"], name="one_score_per_version"),
        ]
        indexes = [
            models.Index(fields=["model_version", "customer_id", "is_flagged"], name="score_customer"),
            # The grid's default and common sorts, each with its tiebreaker (transaction_id), so that a
            # deep page is an index range read (detection.grid). One index per sort key: a page sorted
            # the other way reads it backwards, its tiebreaker running backwards too (grid.tiebreaker).
            # Every index here costs the training run's write and the pruning of a version.
            models.Index(fields=["model_version", "-anomaly_score", "transaction_id"], name="score_rank"),
            models.Index(fields=["model_version", "-total_spent", "transaction_id"], name="score_spent"),
            models.Index(
                fields=["model_version", "is_flagged", "-anomaly_score", "transaction_id"], name="score_flagged_rank"
            ),
            models.Index(fields=["model_version", "invoice_date", "transaction_id"], name="score_date"),
            # the admin's and the grid's country filter, ranked by anomaly score
            models.Index(
                fields=["model_version", "country", "-anomaly_score", "transaction_id"], name="score_country_rank"
            ),
            # The grid's quantity filter: its matching rows and count from this index alone. Quantity first:
            # SQLite would otherwise take it for any other filter of a version (the smallest index starting
            # with model_version), reading the table in quantity order, 4x slower than in score_date's.
            # On PostgreSQL only, migration 0013 adds score_unit_price (the same for unit price) and trigram
            # GIN indexes for the text columns' "contains" filters (score_<column>_trgm); not listed here,
            # as SQLite has no GIN and reads a price range through score_date anyway.
            models.Index(fields=["quantity", "model_version", "transaction_id"], name="score_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} @ v{self.model_version_id}: {self.anomaly_score:.3f}"


class DailyScoreCount(models.Model):
    """Score rows of one model version per local day (the site's time zone) and country.

    The over-time and per-country charts read these instead of grouping every score row;
    `detection.daily_counts` keeps them equal to the score rows in the same database transaction.
    """

    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="daily_counts")
    day = models.DateField(help_text="The invoices' day in UK time (Europe/London).")
    country = models.CharField(max_length=64)
    scored = models.PositiveIntegerField(help_text="Score rows.")
    flagged = models.PositiveIntegerField(help_text="Rows with is_flagged.")
    common = models.PositiveIntegerField(help_text="Rows flagged by both models (is_common_anomaly).")
    iso_forest_flagged = models.PositiveIntegerField(help_text="Rows with iso_forest_flag.")
    autoencoder_flagged = models.PositiveIntegerField(help_text="Rows with autoencoder_flag.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_version", "day", "country"], name="one_daily_count"),
        ]

    def __str__(self) -> str:
        return f"v{self.model_version_id} {self.day} {self.country}: {self.flagged}/{self.scored}"
