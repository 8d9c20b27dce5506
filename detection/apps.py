from django.apps import AppConfig


class DetectionConfig(AppConfig):
    """Features, the anomaly models, model versions and per-transaction scores."""

    name = "detection"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
