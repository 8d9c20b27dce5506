"""Write paths for analysts' reviews: status changes and assignments, each kept as a ReviewEvent.

Every change goes through `apply_review_change`, which validates the transition against
TRANSITIONS; a flagged transaction without a Review row is `new` and gets its row on first change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .models import Review, ReviewEvent

Status = Review.Status
# from -> the statuses it may move to (staying put is always allowed: a note or an assignment).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.INVESTIGATING, Status.CONFIRMED_FRAUD, Status.FALSE_POSITIVE}),
    Status.INVESTIGATING: frozenset({Status.CONFIRMED_FRAUD, Status.FALSE_POSITIVE}),
    Status.CONFIRMED_FRAUD: frozenset({Status.INVESTIGATING}),
    Status.FALSE_POSITIVE: frozenset({Status.INVESTIGATING}),
}
CLOSED = frozenset({Status.CONFIRMED_FRAUD, Status.FALSE_POSITIVE})
CHUNK = 2_000
# Who may change reviews, in the admin and through the API alike.
REVIEW_PERMISSIONS = ("reviews.add_review", "reviews.change_review")


class ReviewTransitionError(ValueError):
    """The requested status change is not allowed from the review's current status."""


class _Unset:
    pass


UNSET = _Unset()


def check_transition(from_status: str, to_status: str) -> None:
    """Raise ReviewTransitionError unless a review may move from `from_status` to `to_status`."""
    if to_status not in Status.values:
        raise ReviewTransitionError(f"unknown review status {to_status!r}")
    if from_status != to_status and to_status not in TRANSITIONS[from_status]:
        allowed = ", ".join(sorted(TRANSITIONS[from_status])) or "none"
        raise ReviewTransitionError(f"a review cannot go from {from_status} to {to_status} (allowed: {allowed})")


@dataclass
class ReviewOutcome:
    """What a change did: transactions changed, unchanged (nothing to do), refused with the reasons."""

    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)

    @property
    def refused_count(self) -> int:
        return sum(self.refused.values())


def apply_review_change(
    transaction_ids: Iterable[int],
    *,
    actor,
    status: str | None = None,
    analyst=UNSET,
    note: str | None = None,
) -> ReviewOutcome:
    """Move the reviews of the given transactions to `status`, assign `analyst`, record `note`.

    Creates missing Review rows (as `new`); refuses, per review, transitions not in TRANSITIONS and
    reports them; writes one ReviewEvent per changed review. One database transaction, a few
    queries per CHUNK reviews whatever their number.
    """
    if status and status not in Status.values:
        raise ReviewTransitionError(f"unknown review status {status!r}")
    ids = sorted({int(pk) for pk in transaction_ids})
    outcome = ReviewOutcome()
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            _apply_chunk(ids[start : start + CHUNK], actor, status, analyst, note, outcome)
    return outcome


def _apply_chunk(ids: list[int], actor, status, analyst, note, outcome: ReviewOutcome) -> None:
    existing = set(Review.objects.filter(transaction_id__in=ids).values_list("transaction_id", flat=True))
    Review.objects.bulk_create([Review(transaction_id=pk) for pk in ids if pk not in existing])
    now = timezone.now()
    reviews = list(
        Review.objects.select_for_update()
        .filter(transaction_id__in=ids)
        .values("id", "transaction_id", "status", "analyst_id", "note")
    )
    analyst_id = getattr(analyst, "pk", analyst) if analyst is not UNSET else UNSET
    events, changed_ids, closing = [], [], []
    for review in reviews:
        to_status = status or review["status"]
        try:
            check_transition(review["status"], to_status)
        except ReviewTransitionError:
            outcome.refused[f"{review['status']} -> {to_status}"] += 1
            continue
        new_analyst = review["analyst_id"] if analyst_id is UNSET else analyst_id
        if to_status == review["status"] and new_analyst == review["analyst_id"] and not note:
            outcome.unchanged.append(review["transaction_id"])
            continue
        changed_ids.append(review["id"])
        outcome.changed.append(review["transaction_id"])
        if to_status in CLOSED and review["status"] not in CLOSED:
            closing.append(review["id"])
        events.append(
            ReviewEvent(
                review_id=review["id"],
                actor=actor,
                at=now,
                from_status=review["status"],
                to_status=to_status,
                analyst_id=new_analyst,
                note=note or "",
            )
        )
    if not changed_ids:
        return
    fields: dict = {"updated_at": now}
    if status:
        fields["status"] = status
        if status not in CLOSED:
            fields["closed_at"] = None
    if analyst_id is not UNSET:
        fields["analyst_id"] = analyst_id
    if note:
        fields["note"] = note
    Review.objects.filter(pk__in=changed_ids).update(**fields)
    if closing:
        Review.objects.filter(pk__in=closing).update(closed_at=now)
    ReviewEvent.objects.bulk_create(events)


def change_review(transaction_id: int, *, actor, status: str | None = None, analyst=UNSET, note: str | None = None):
    """Change one transaction's review and return it; raise ReviewTransitionError when refused."""
    with transaction.atomic():
        current = Review.objects.filter(transaction_id=transaction_id).values_list("status", flat=True).first()
        if status:
            check_transition(current or Status.NEW, status)
        outcome = apply_review_change([transaction_id], actor=actor, status=status, analyst=analyst, note=note)
        if outcome.refused:  # changed meanwhile by someone else
            raise ReviewTransitionError(f"a review cannot go {next(iter(outcome.refused))}")
    return Review.objects.get(transaction_id=transaction_id)
