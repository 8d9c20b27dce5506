from django.apps import AppConfig


class DetectionConfig(AppConfig):
    """Features, the anomaly models, model versions and per-transaction scores."""

    name = "detection"

    def ready(self) -> None:
        from jobs.recovery import register_reconciler
        from jobs.schedules import PeriodicTask, register_periodic_task

        from . import (
            checks,  # noqa: F401  (registers the system checks)
            receivers,
        )
        from .training_jobs import reconcile_dead_training

        receivers.connect()
        register_reconciler("train", reconcile_dead_training)
        # Created disabled: an admin enables it (Repeats -1) when new rows arrive without retraining.
        register_periodic_task(
            PeriodicTask("Score new transactions", "detection.tasks.score_new_transactions", minutes=15, enabled=False)
        )
