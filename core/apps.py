from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing under every other app: bulk writes, the error base, site-wide commands, token revocation."""

    name = "core"

    def ready(self) -> None:
        from . import signals

        signals.connect()
