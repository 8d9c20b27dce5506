"""manage.py ensure_admin: create the local admin user once, printing its password once."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create a superuser if none exists (password from DJANGO_SUPERUSER_PASSWORD, else generated)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default=os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin"))

    def handle(self, *args, username: str, **options) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin user exists already; nothing to do.")
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        if os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            self.stdout.write(f"Created admin user '{username}' with the password from DJANGO_SUPERUSER_PASSWORD.")
        elif self.stdout.isatty():
            self.stdout.write(f"Created admin user '{username}' with password: {password}  (shown only once)")
        else:  # a deploy log: never print a password there
            path = write_password_file(password)
            self.stdout.write(
                f"Created admin user '{username}'; its password is in {path} (readable by this user only)."
            )


def write_password_file(password: str) -> Path:
    """Write the generated password to a file only its owner can read; return its path."""
    path = Path(settings.ARTIFACTS_DIR).parent / "admin-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    return path
