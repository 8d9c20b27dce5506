"""Bulk review actions shared by the score, review and transaction changelists."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin_mixins import acting_user, change_action

from ..models import Review
from ..services import REVIEW_PERMISSIONS, apply_review_change


class ReviewActionsMixin:
    """Bulk review actions; `review_transaction_ids(queryset)` maps the selection to transactions."""

    actions = ["mark_investigating", "mark_confirmed_fraud", "mark_false_positive", "assign_to_me"]

    def review_transaction_ids(self, queryset: QuerySet) -> list[int]:
        return list(queryset.values_list("transaction_id", flat=True))

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(REVIEW_PERMISSIONS)

    def apply_change(self, request: HttpRequest, queryset: QuerySet, done: str, **change) -> None:
        outcome = apply_review_change(self.review_transaction_ids(queryset), actor=request.user, **change)
        self.message_user(request, f"{len(outcome.changed)} {done}.", messages.SUCCESS)
        if outcome.refused:
            reasons = ", ".join(f"{count} {reason}" for reason, count in outcome.refused.most_common())
            self.message_user(request, f"Refused (not an allowed transition): {reasons}.", messages.WARNING)

    mark_investigating = change_action(
        "Mark as investigating", "review", "marked investigating", status=Review.Status.INVESTIGATING
    )
    mark_confirmed_fraud = change_action(
        "Mark as confirmed fraud", "review", "marked confirmed fraud", status=Review.Status.CONFIRMED_FRAUD
    )
    mark_false_positive = change_action(
        "Mark as false positive", "review", "marked false positive", status=Review.Status.FALSE_POSITIVE
    )
    assign_to_me = change_action("Assign to me", "review", "assigned to you", analyst=acting_user)


def review_status_label(review: Review | None) -> str:
    return review.get_status_display() if review else Review.Status.NEW.label
