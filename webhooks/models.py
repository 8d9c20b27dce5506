"""Tables for outgoing webhooks: the endpoints staff register, the event outbox and the delivery log."""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from core.model_fields import user_reference

ALERT_CREATED = "alert.created"
CASE_OPENED = "case.opened"
CASE_CLOSED = "case.closed"
DECISION_BLOCK = "decision.block"
EVENT_TYPES = (ALERT_CREATED, CASE_OPENED, CASE_CLOSED, DECISION_BLOCK)


class Endpoint(models.Model):
    """A receiver's URL, the event types it wants and the secret its deliveries are signed with."""

    url = models.URLField(max_length=500, help_text="http(s) URL that receives a POST per event.")
    event_types = models.JSONField(default=list, help_text=f"Any of: {', '.join(EVENT_TYPES)}.")
    secret = models.CharField(max_length=255, help_text="At least 32 bytes; signs every delivery (X-Signature).")
    description = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = user_reference()
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed attempt since the last success; None while healthy."
    )
    disabled_at = models.DateTimeField(null=True, blank=True, help_text="When it was disabled for failing a day.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    """One outbox row, written in the transaction of the change that caused it; its id is the event id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=32, choices=[(t, t) for t in EVENT_TYPES])
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class Delivery(models.Model):
    """One event to one endpoint: its state, attempts and the outcome of the last attempt."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        DELIVERED = "delivered"
        FAILED = "failed", "Failed (endpoint disabled)"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it (status sending).")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Of the last attempt.")
    duration_ms = models.FloatField(null=True, blank=True, help_text="Of the last attempt.")
    error = models.TextField(blank=True, help_text="Of the last failed attempt.")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-next_attempt_at"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event_endpoint")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.endpoint_id}: {self.status}"
