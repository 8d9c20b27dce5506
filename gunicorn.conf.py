"""gunicorn settings read from ./gunicorn.conf.py: its own logs through the site's formatter.

With LOG_FORMAT=json every line gunicorn writes (start-up, worker boots, errors, and the access
log when --access-logfile is given) is one JSON object, like the application's own lines.

The access log is written only when asked for (--access-logfile, as the Dockerfile, compose file
and systemd unit do): gunicorn would otherwise log every request as soon as `logconfig_dict` is
set, which costs about a tenth of a worker's time under load (bench/load.py); without one, the
worker does not even gather the line's fields.
"""

import logging
import os

_json = os.environ.get("LOG_FORMAT", "plain") == "json"
_formatter = (
    {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    }
    if _json
    else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"site": _formatter},
    "handlers": {
        "error": {"class": "logging.StreamHandler", "formatter": "site", "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "site", "stream": "ext://sys.stdout"},
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}
# One line per request: client, request line, status, bytes, duration in ms, the request id.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'


def _no_access_line(*args, **kwargs) -> None:
    """The worker's access logging when no access log was asked for: nothing, not even the line's fields."""


def post_fork(server, worker) -> None:
    """In each worker: no access log lines unless an access log was asked for. gunicorn would still
    gather each request's fields for the line before the level dropped it (2 % of a worker's CPU)."""
    if server.cfg.accesslog is None:
        logging.getLogger("gunicorn.access").setLevel(logging.WARNING)
        worker.log.access = _no_access_line
