"""Read paths for cases: the customer's case for the dashboard, lists and details for the API."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import SERVICE_KEPT_FIELDS, Case, CaseEvent, CaseTransaction

OPEN_STATUSES = (Case.Status.OPEN, Case.Status.INVESTIGATING)
CASE_FIELDS = [
    "id",
    "customer_id",
    "status",
    "assignee__username",
    "notes",
    *SERVICE_KEPT_FIELDS,
]


def case_for_customer(customer_id: int) -> dict[str, Any] | None:
    """The customer's open case with the highest score, else their latest case; None when they have none."""
    cases = Case.objects.filter(customer_id=customer_id)
    found = (
        cases.filter(status__in=OPEN_STATUSES).order_by("-max_score", "-id").first() or cases.order_by("-id").first()
    )
    return None if found is None else {"id": found.pk, "status": found.status, "label": found.get_status_display()}


def case_queue(
    *, status: str | None = None, assignee_id: int | None = None, customer_id: int | None = None
) -> QuerySet:
    """Cases as the queue orders them (highest score, then value at risk), as dicts of CASE_FIELDS."""
    queryset = Case.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    if assignee_id is not None:
        queryset = queryset.filter(assignee_id=assignee_id)
    if customer_id is not None:
        queryset = queryset.filter(customer_id=customer_id)
    return queryset.order_by("-max_score", "-value_at_risk", "id").values(*CASE_FIELDS)


def case_detail(case_id: int) -> dict[str, Any] | None:
    """One case with its transactions (highest score first) and history (oldest first); None if unknown."""
    case = Case.objects.filter(pk=case_id).values(*CASE_FIELDS).first()
    if case is None:
        return None
    case["transactions"] = list(
        CaseTransaction.objects.filter(case_id=case_id)
        .order_by("-anomaly_score", "transaction_id")
        .values(
            "transaction_id",
            "transaction__invoice_no",
            "transaction__invoice_date",
            "anomaly_score",
            "amount",
            "transaction__review__status",
        )
    )
    case["history"] = list(
        CaseEvent.objects.filter(case_id=case_id)
        .order_by("at", "id")
        .values("at", "actor__username", "from_status", "to_status", "assignee__username", "note")
    )
    return case
