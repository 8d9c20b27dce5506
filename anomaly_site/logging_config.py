"""The LOGGING setting: one console handler, plain text or JSON, with each line's request id."""

from __future__ import annotations


def logging_config(formatter: str, level: str) -> dict:
    """Django's LOGGING dict with `formatter` ("plain" or "json") and the root logger at `level`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception"},
                "json_ensure_ascii": False,
            },
        },
        "filters": {"request_id": {"()": "core.request_id.RequestIdFilter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Replaces Django's default "django" handlers (plain text in DEBUG) with ours.
            "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.db.backends": {"level": "WARNING"},
            "tensorflow": {"level": "ERROR"},
            # django-q2 adds a plain-text handler of its own to a logger that has none: give it ours.
            "django-q": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # Axes announces itself at INFO in every process; its failure and lockout lines stay.
            "axes.apps": {"level": "WARNING"},
        },
    }
