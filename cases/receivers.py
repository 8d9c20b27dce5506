"""New alerts join their customer's open case: a receiver of detection's `scores_written` signal."""

from __future__ import annotations

from django.dispatch import receiver

from detection.signals import scores_written

from .services import add_alerts


@receiver(scores_written, dispatch_uid="cases.add_alerts")
def place_new_alerts(sender, *, version, transaction_ids, **kwargs) -> None:
    """Runs in the scoring transaction, so the rows, their cases and the alert events commit together."""
    if version.is_active:
        add_alerts(transaction_ids, version=version)
