"""New alerts join their customer's open case: receivers of detection's `scores_written` (rows a
model flags) and of decisions' `alerts_decided` (rows the policy decides review or block)."""

from __future__ import annotations

from django.dispatch import receiver

from decisions.signals import alerts_decided
from detection.signals import scores_written

from .services import add_alerts


@receiver(scores_written, dispatch_uid="cases.add_alerts")
def place_new_alerts(sender, *, version, transaction_ids, **kwargs) -> None:
    """Runs in the scoring transaction, so the rows, their cases and the alert events commit together."""
    if version.is_active:
        add_alerts(transaction_ids, version=version)


@receiver(alerts_decided, dispatch_uid="cases.add_decided_alerts")
def place_decided_alerts(sender, *, version, transaction_ids, **kwargs) -> None:
    """Rows decided review or block open or join a case too (in the deciding transaction)."""
    if version.is_active:
        add_alerts(transaction_ids, version=version)
