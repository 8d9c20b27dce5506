"""Login counters are shared by separate processes (as gunicorn's workers are), not kept per process."""

from __future__ import annotations

import json
from pathlib import Path

from tests.production.processes import child_env, manage

# Wrong logins for distinct usernames from one address: only the per-address throttle counts them.
LOGINS = """
import json
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
client = Client(REMOTE_ADDR="10.7.7.7")
print(json.dumps([
    client.post("/api/auth/token", {"username": f"{PREFIX}{i}", "password": "wrong"},
                content_type="application/json").status_code
    for i in range(3)
]))
"""


def wrong_logins(prefix: str, env: dict[str, str]) -> list[int]:
    out = manage("shell", "-c", LOGINS.replace("{PREFIX}", prefix), env=env, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_processes_share_the_token_login_throttle(tmp_path: Path) -> None:
    """Five logins per address (an hour here: starting a process takes a while): three in one process
    and three in another make six, and the sixth is refused."""
    env = child_env(DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}", API_LOGIN_RATE="5/hour")
    env.pop("CACHE_URL", None)

    first = wrong_logins("first-", env)
    second = wrong_logins("second-", env)

    assert first == [400, 400, 400]
    assert second == [400, 400, 429]
