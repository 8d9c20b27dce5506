from django.apps import AppConfig


class TransactionsConfig(AppConfig):
    """Loaded data: customers, invoice lines, import batches and quarantined rows; reading and ingest."""

    name = "transactions"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from jobs.recovery import register_reconciler

        from .customer_list import customers_changed
        from .models import Customer
        from .uploads import reconcile_dead_ingest

        register_reconciler("ingest", reconcile_dead_ingest)
        # Customers saved or deleted through the ORM (the admin, fixtures) change the customer list.
        post_save.connect(customers_changed, sender=Customer, dispatch_uid="customer-list-saved")
        post_delete.connect(customers_changed, sender=Customer, dispatch_uid="customer-list-deleted")
