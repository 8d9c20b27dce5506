from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: endpoints, the event outbox and the delivery log, delivered by django-q2."""

    name = "webhooks"
