from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Alerts grouped per customer into cases that analysts work and close, with their history."""

    name = "cases"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (new alerts join their customer's open case)
