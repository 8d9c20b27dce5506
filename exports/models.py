"""The export log: who downloaded which rows, in which format, when."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExportLog(models.Model):
    class Kind(models.TextChoices):
        QUEUE = "queue", "review queue"
        DRILLDOWN = "drilldown", "customer drill-down"
        CUSTOMER_TRANSACTIONS = "customer_transactions", "customer's transactions"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exports")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    file_format = models.CharField(max_length=8, choices=Format.choices)
    parameters = models.JSONField(default=dict, blank=True, help_text="The filters of the exported view.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        what = f"{self.get_kind_display()} as {self.get_file_format_display()}"
        return f"{what} by {self.user} at {self.created_at:%Y-%m-%d %H:%M}"
