from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: endpoints, the event outbox and the delivery log, delivered by django-q2."""

    name = "webhooks"

    def ready(self) -> None:
        from jobs.schedules import PeriodicTask, register_periodic_task

        # Enabled: it delivers what a crashed worker left in the outbox and the retries that came due.
        register_periodic_task(
            PeriodicTask("Deliver pending webhooks", "webhooks.tasks.deliver_pending", minutes=1, enabled=True)
        )
