"""Analysts' verdicts on transactions and every change made to them."""

from django.db import models

from core.model_fields import status_field, user_reference


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
    status = status_field(Status.choices, default=Status.NEW)
    analyst = user_reference(related_name="reviews")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was last confirmed or dismissed.")

    class Meta:
        db_table = "detection_review"  # created there before this app existed; kept as is
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
    actor = user_reference(blank=False)
    at = models.DateTimeField(db_index=True)
    from_status = status_field(Review.Status.choices)
    to_status = status_field(Review.Status.choices)
    analyst = user_reference(help_text="The assignee after the change.")
    note = models.TextField(blank=True, help_text="The note written with the change, if any.")

    class Meta:
        db_table = "detection_reviewevent"
        ordering = ["review", "at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status} at {self.at:%Y-%m-%d %H:%M}"
