"""Production settings: check --deploy, the required SECRET_KEY, JSON logs, hashed static files."""

from __future__ import annotations

import importlib
import json
import logging
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from core.storage import StaticFilesStorage

from .processes import PYTHON, ROOT, child_env, manage

HSTS_OPT_INS = ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD")


def test_check_deploy_passes_with_production_settings(production_env) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env, check=False)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_without_hsts(settings) -> None:
    settings.DEBUG = False
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 0

    with pytest.raises(SystemCheckError) as failure:
        call_command("check", "--deploy", "--fail-level", "WARNING")

    assert "security.W004" in str(failure.value)
    assert "1 issue" in str(failure.value)


def test_debug_off_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    env = child_env(DEBUG="0", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")

    result = manage("check", env=env, check=False)

    assert result.returncode == 1
    assert "SECRET_KEY must be set in the environment when DEBUG is off" in result.stderr


def test_debug_off_with_a_short_secret_key_refuses_to_start(tmp_path: Path) -> None:
    env = child_env(DEBUG="0", SECRET_KEY="x" * 49, DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")

    result = manage("check", env=env, check=False)

    assert result.returncode == 1
    assert "ImproperlyConfigured: SECRET_KEY is 49 characters long" in result.stderr
    assert "at least 50 random characters" in result.stderr


def test_debug_on_accepts_the_development_key(tmp_path: Path) -> None:
    env = child_env(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")

    assert manage("check", env=env, check=False).returncode == 0


def production_settings(env: dict[str, str], names: str) -> list:
    """The values of the settings `names` (a Python list expression over `s`) in a fresh process."""
    code = f"import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({names}))"
    env = {**env, "DJANGO_SETTINGS_MODULE": "anomaly_site.settings"}
    out = subprocess.run([PYTHON, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_production_settings_turn_on_secure_cookies_and_https_redirect(production_env) -> None:
    values = production_settings(
        production_env,
        "[s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.DATABASES['default']['CONN_HEALTH_CHECKS'], s.STORAGES['staticfiles']['BACKEND']]",
    )

    assert values == [False, True, True, True, 31536000, True, "core.storage.StaticFilesStorage"]


def without_hsts_opt_ins(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in HSTS_OPT_INS}


def test_hsts_preload_and_subdomains_are_separate_opt_ins(production_env) -> None:
    names = "[s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD]"
    default = {
        k: v for k, v in production_env.items() if k not in ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD")
    }

    assert production_settings(default, names) == [31536000, False, False]
    assert production_settings({**default, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1"}, names) == [31536000, True, False]
    assert production_settings({**default, "SECURE_HSTS_PRELOAD": "1"}, names) == [31536000, False, True]


def test_check_deploy_names_the_hsts_opt_ins_left_off(production_env) -> None:
    env = {
        k: v for k, v in production_env.items() if k not in ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD")
    }

    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, check=False)

    assert result.returncode == 1
    assert "security.W005" in result.stderr and "security.W021" in result.stderr


def test_log_format_json_writes_one_object_per_line(production_env) -> None:
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('transactions.services').warning('loaded %s rows', 5, extra={'batch_id': 7})"
    )
    env = {**production_env, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "anomaly_site.settings"}
    err = subprocess.run([PYTHON, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True).stderr
    entry = json.loads(err.strip().splitlines()[-1])

    assert entry["level"] == "WARNING"
    assert entry["logger"] == "transactions.services"
    assert entry["message"] == "loaded 5 rows"
    assert entry["batch_id"] == 7


def json_formatter() -> logging.Formatter:
    """The formatter LOG_FORMAT=json configures, built from the LOGGING setting."""
    config = dict(django_settings.LOGGING["formatters"]["json"])
    factory = config.pop("()")
    module, _, name = factory.rpartition(".")
    return getattr(importlib.import_module(module), name)(**config)


def test_json_formatter_includes_the_exception() -> None:
    try:
        raise ValueError("bad row")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())

    entry = json.loads(json_formatter().format(record))

    assert entry["message"] == "failed"
    assert "ValueError: bad row" in entry["exception"]


def test_static_url_is_hashed_once_the_file_exists_and_plain_before(tmp_path: Path) -> None:
    storage = StaticFilesStorage(location=str(tmp_path), base_url="/static/")
    (tmp_path / "site.css").write_text("body { color: red }")

    assert storage.url("not-collected-yet.css") == "/static/not-collected-yet.css"
    hashed = storage.url("site.css")
    assert hashed.startswith("/static/site.") and hashed.endswith(".css") and hashed != "/static/site.css"
