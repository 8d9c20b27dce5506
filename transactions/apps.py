from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    """Loaded data: customers, invoice lines, import batches and quarantined rows; reading and ingest."""

    name = "transactions"

    def ready(self) -> None:
        from jobs.recovery import register_reconciler

        from .uploads import reconcile_dead_ingest

        register_reconciler("ingest", reconcile_dead_ingest)
