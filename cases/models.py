"""Tables for cases: a customer's alerts grouped into one piece of work, its transactions and history."""

from django.db import models

from core.model_fields import status_field, user_reference


class Case(models.Model):
    """A customer's alerts that are worked and closed together; every change is kept as a CaseEvent."""

    class Status(models.TextChoices):
        OPEN = "open"
        INVESTIGATING = "investigating"
        CLOSED_FRAUD = "closed_fraud", "Closed as fraud"
        CLOSED_LEGITIMATE = "closed_legitimate", "Closed as legitimate"

    customer = models.ForeignKey("transactions.Customer", on_delete=models.PROTECT, related_name="cases")
    status = status_field(Status.choices, default=Status.OPEN)
    assignee = user_reference(related_name="cases")
    notes = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(help_text="opened_at + CASE_SLA_HOURS: when it should be closed by.")
    first_alert_at = models.DateTimeField(help_text="InvoiceDate of its earliest transaction.")
    last_alert_at = models.DateTimeField(help_text="InvoiceDate of its latest transaction: the window counts from it.")
    alert_count = models.PositiveIntegerField(default=0)
    value_at_risk = models.FloatField(default=0.0, help_text="Sum of its transactions' Quantity x UnitPrice.")
    max_score = models.FloatField(default=0.0, help_text="Highest anomaly_score of its transactions.")
    country = models.CharField(max_length=64, help_text="The customer's usual country.")

    class Meta:
        ordering = ["-max_score", "-value_at_risk", "id"]
        permissions = [("reopen_case", "Can reopen a closed case")]
        indexes = [
            models.Index(fields=["status", "-max_score", "-value_at_risk"], name="case_queue"),
            models.Index(fields=["customer", "status"], name="case_customer"),
            models.Index(fields=["assignee", "status"], name="case_assignee"),
        ]

    def __str__(self) -> str:
        return f"case #{self.pk} of customer {self.customer_id} ({self.status})"

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.CLOSED_FRAUD, self.Status.CLOSED_LEGITIMATE)


# A case's fields that the case services keep up to date; analysts change only status, assignee and notes.
SERVICE_KEPT_FIELDS = [
    "opened_at",
    "closed_at",
    "sla_due_at",
    "first_alert_at",
    "last_alert_at",
    "alert_count",
    "value_at_risk",
    "max_score",
    "country",
]


class CaseTransaction(models.Model):
    """A transaction in a case (each transaction is in at most one case), with its score when it joined."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links")
    transaction = models.OneToOneField("transactions.Transaction", on_delete=models.PROTECT, related_name="case_link")
    added_at = models.DateTimeField()
    anomaly_score = models.FloatField()
    amount = models.FloatField(help_text="Quantity x UnitPrice.")

    class Meta:
        ordering = ["case", "-anomaly_score"]

    def __str__(self) -> str:
        return f"{self.transaction_id} in case #{self.case_id}"


class CaseEvent(models.Model):
    """One change of a case: who, when, the status before and after, the assignee, and what happened."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    actor = user_reference(blank=False)
    at = models.DateTimeField(db_index=True)
    from_status = status_field(Case.Status.choices, blank=True)
    to_status = status_field(Case.Status.choices)
    assignee = user_reference()
    note = models.TextField(blank=True, help_text="What changed: alerts added, the note given, reviews applied.")

    class Meta:
        ordering = ["case", "at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status} at {self.at:%Y-%m-%d %H:%M}"
