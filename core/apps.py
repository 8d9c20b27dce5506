from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing under every other app: bulk writes, the error base, site-wide commands."""

    name = "core"
