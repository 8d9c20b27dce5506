"""Running the project in fresh processes for production tests: environments and manage.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def child_env(**overrides: str) -> dict[str, str]:
    """Return this process's environment without the settings a test must choose itself, plus `overrides`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "SECURE_HSTS_SECONDS",
            "SECURE_SSL_REDIRECT",
            "SECURE_COOKIES",
            "LOG_FORMAT",
            "Q_REDIS_URL",
            "STATIC_ROOT",
        }
    }
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)})
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """Run `manage.py *args` in a fresh process and return the completed process (text output)."""
    return subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )
