"""Tables for decisions: policy versions with their rules and thresholds, value lists, the audit log,
and the decision stored for each scored row."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.model_fields import user_reference

RISK_VALIDATORS = [MinValueValidator(0), MaxValueValidator(99)]


class Action(models.TextChoices):
    """What a rule or the policy decides for a transaction (Radar's allow is our approve)."""

    APPROVE = "approve"
    REVIEW = "review"
    BLOCK = "block"


class Policy(models.Model):
    """One version of the decision policy: its rules and its two thresholds on the 0-99 risk score.

    Exactly one version is published at a time (a migration creates the first); a draft becomes
    published through `services.publish_policy`, and the version it replaces is archived, not deleted.
    """

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"
        ARCHIVED = "archived"

    name = models.CharField(max_length=100, help_text="What this version changes, in a few words.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    review_at = models.PositiveSmallIntegerField(
        default=65, validators=RISK_VALIDATORS, help_text="Review when the 0-99 risk score is at least this."
    )
    block_at = models.PositiveSmallIntegerField(
        default=75, validators=RISK_VALIDATORS, help_text="Block when the 0-99 risk score is at least this."
    )
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = user_reference()
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = user_reference()

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["-id"]
        permissions = [("publish_policy", "Can publish a draft policy")]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="published"), name="one_published_policy"),
            models.CheckConstraint(condition=Q(review_at__lte=models.F("block_at")), name="review_at_lte_block_at"),
        ]

    def __str__(self) -> str:
        return f"policy v{self.pk} ({self.status}): {self.name}"


class Rule(models.Model):
    """'RETURN <action> WHEN <condition>': a condition (data, see `conditions`) with a reason."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="rules")
    order = models.PositiveIntegerField(default=0, help_text="Order within its action (lower first).")
    action = models.CharField(max_length=8, choices=Action.choices)
    name = models.CharField(max_length=100)
    reason = models.CharField(max_length=255, blank=True, help_text="Why: shown with the decision.")
    condition = models.JSONField(help_text='{"all"|"any": [{"field", "op", "value"} or a nested all/any]}')
    is_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["policy", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["policy", "name"], name="one_rule_name_per_policy")]

    def __str__(self) -> str:
        return f"{self.action} when {self.name}"


class ValueList(models.Model):
    """A named list of values of one kind (CustomerIDs, countries, stock codes or invoice numbers)."""

    class Kind(models.TextChoices):
        CUSTOMER_ID = "customer_id"
        COUNTRY = "country"
        STOCK_CODE = "stock_code"
        INVOICE_NO = "invoice_no"

    name = models.CharField(max_length=100, unique=True, help_text="Rules name the list by this.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "list"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class ListEntry(models.Model):
    """One value of a list; it stops counting at `expires_at` when set."""

    list = models.ForeignKey(ValueList, on_delete=models.CASCADE, related_name="entries")
    value = models.CharField(max_length=64, help_text="Stored as text; CustomerIDs as whole numbers (15311).")
    added_by = user_reference()
    added_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "list entries"
        ordering = ["list", "value"]
        constraints = [models.UniqueConstraint(fields=["list", "value"], name="one_entry_per_value")]

    def __str__(self) -> str:
        return self.value


class AuditEvent(models.Model):
    """Who changed what in the decision layer, and when, with the object's before/after JSON."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = user_reference(blank=False)
    action = models.CharField(max_length=32, help_text="create, update, delete, publish, import, redecide")
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=32, blank=True)
    summary = models.CharField(max_length=255)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor}: {self.summary}"


class TransactionDecision(models.Model):
    """The decision of one scored row under one policy version, with every reason that applied.

    Written in bulk by `services.redecide_version`; one per score row (replaced when re-decided).
    """

    score = models.OneToOneField("detection.TransactionScore", on_delete=models.CASCADE, related_name="decision")
    model_version = models.ForeignKey("detection.ModelVersion", on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Action.choices)
    risk = models.PositiveSmallIntegerField(
        help_text="The 0-99 risk score: 33 x -log10(1 - anomaly_score), rounded half up, at most 99."
    )
    reasons = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["model_version", "decision"], name="decision_by_version")]

    def __str__(self) -> str:
        return f"{self.decision} (score {self.score_id})"
