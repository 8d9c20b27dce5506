"""Which process runs a job, and whether that process is still alive (on this host)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), so a reused pid is told apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22 of stat, counting after the command name


def worker_identity(pid: int | None = None) -> str:
    """host:pid:start of this process (or of `pid`)."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def worker_is_dead(identity: str) -> bool:
    """True when `identity` names a process of this host that no longer runs; False when alive or elsewhere."""
    host, _, rest = identity.partition(":")
    pid_text, _, ticks = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's worker: its heartbeat tells
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, run by another user
    return bool(ticks) and _start_ticks(pid) != ticks
