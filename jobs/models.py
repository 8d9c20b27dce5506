"""The background job table: what the django-q2 worker runs for users, and how far it got."""

from django.db import models

from core.model_fields import user_reference


class BackgroundJob(models.Model):
    """A long piece of work run by the django-q2 worker (ingest, training, scoring) and how it went."""

    class Kind(models.TextChoices):
        INGEST = "ingest"
        TRAIN = "train"
        SCORE = "score"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0, help_text="Fraction done, 0..1.")
    message = models.CharField(max_length=255, blank=True, help_text="The current stage, or the outcome.")
    error = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    upload_path = models.CharField(max_length=500, blank=True, help_text="The stored upload an ingest reads.")
    task_id = models.CharField(max_length=64, blank=True, help_text="The django-q2 task id.")
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid:start of the process running it.")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life while running.")
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "transactions_backgroundjob"  # created there before this app existed; kept as is
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "status"], name="job_kind_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.status})"
