"""The audit trail of decisions: who changed what, when, with the state before and after."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from .models import AuditEvent, Policy, Rule


def record(*, actor, action: str, obj: Any, summary: str, before: Any = None, after: Any = None) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=str(getattr(obj, "pk", "") or ""),
        summary=summary[:255],
        before=before,
        after=after,
    )


def delete_recorded(obj: models.Model, *, user, summary: str, before: Any, audited: Any = None) -> None:
    """Delete `obj` and record the deletion (of `audited`, by default `obj` itself) in one database transaction."""
    with transaction.atomic():
        record(actor=user, action="delete", obj=obj if audited is None else audited, summary=summary, before=before)
        obj.delete()


# What a rule is made of: what the audit trail keeps, a draft copies and a rule request may send.
RULE_FIELDS = ("name", "action", "order", "reason", "condition", "is_enabled")


def rule_snapshot(rule: Rule) -> dict[str, Any]:
    return {field: getattr(rule, field) for field in RULE_FIELDS}


def policy_fields(policy: Policy) -> dict[str, Any]:
    """The version's name, status and thresholds: what the audit trail and the API both show of it."""
    return {"name": policy.name, "status": policy.status, "review_at": policy.review_at, "block_at": policy.block_at}


def policy_snapshot(policy: Policy) -> dict[str, Any]:
    return {
        **policy_fields(policy),
        "rules": [rule_snapshot(rule) for rule in policy.rules.order_by("order", "id")],
    }
