"""Run a benchmark step in a fresh Python process and read the JSON line it prints last."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence


def run_json(arguments: Sequence[str], env: dict[str, str]) -> dict:
    """Run `python *arguments` with `env`; return the JSON object on the last line of its output."""
    out = subprocess.run([sys.executable, *arguments], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])
