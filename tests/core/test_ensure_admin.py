"""ensure_admin never writes a generated password into a log: only to a terminal, else to an owner-only file."""

from __future__ import annotations

import stat
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_a_generated_password_goes_to_an_owner_only_file_when_output_is_not_a_terminal(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    out = StringIO()  # not a terminal, like a deploy log

    call_command("ensure_admin", stdout=out)

    secret_file = tmp_path / "admin-password"
    password = secret_file.read_text().strip()
    assert password and password not in out.getvalue() and str(secret_file) in out.getvalue()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert User.objects.get(username="admin").check_password(password)


def test_an_existing_admin_is_left_alone(admin_user) -> None:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert "exists already" in out.getvalue()
