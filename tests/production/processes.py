"""Running the project in fresh processes for production tests: environments and manage.py."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
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
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SECURE_HSTS_PRELOAD",
            "SECURE_SSL_REDIRECT",
            "SECURE_COOKIES",
            "LOG_FORMAT",
            "Q_REDIS_URL",
            "Q_SYNC",
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


def start_cluster(env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `manage.py qcluster` in its own process group (a test signals the whole tree), its output
    (stdout and stderr) appended to `log`."""
    with open(log, "a") as out:
        return subprocess.Popen(
            [PYTHON, str(ROOT / "manage.py"), "qcluster"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_cluster(cluster: subprocess.Popen, timeout: float = 60) -> None:
    """Stop the cluster as the README says: SIGTERM to its main process only (signalling the whole group
    hangs django-q2's main process), wait up to `timeout` seconds, then SIGKILL whatever of its tree is left.

    A loaded machine stops the cluster slowly; a test reads what it wrote so far."""
    with contextlib.suppress(ProcessLookupError):
        cluster.send_signal(signal.SIGTERM)
    try:
        cluster.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=30)


DRIVER = Path(__file__).with_name("fault_driver.py")


def driver(*steps: str, env: dict[str, str], timeout: float = 300) -> list[dict]:
    """Run fault_driver steps in one process to completion; return their results, in order."""
    result = subprocess.run(
        [PYTHON, str(DRIVER), *steps], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"fault_driver {steps} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def start_driver(*steps: str, env: dict[str, str]) -> subprocess.Popen:
    """Start fault_driver steps in the background."""
    return subprocess.Popen(
        [PYTHON, str(DRIVER), *steps], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_file(path: Path, process: subprocess.Popen, timeout: float = 180) -> None:
    """Wait until `path` exists; fail with the process's output if it ends or the time runs out first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"process ended ({process.returncode}) before {path.name}:\n{err[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{path.name} did not appear within {timeout} s")
        time.sleep(0.1)


def listening_sockets(port: int) -> set[str]:
    """The sockets listening on 127.0.0.1:`port`, as /proc/<pid>/fd links name them (Linux)."""
    wanted = f"0100007F:{port:04X}"
    return {
        f"socket:[{fields[9]}]"
        for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
        if fields[1] == wanted and fields[3] == "0A"  # the local address, state LISTEN
    }


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on 127.0.0.1:`port`."""
    sockets = listening_sockets(port)
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) in sockets:
                return True
        except OSError:  # closed meanwhile
            continue
    return False


class LiveServer:
    """gunicorn serving the project on 127.0.0.1 in a child process (a context manager).

    Takes the first port of 8105-8110 that it can bind: another test run may hold one meanwhile.
    """

    def __init__(self, env: dict[str, str], *, workers: int = 1, extra: list[str] | None = None) -> None:
        self.env, self.workers = env, workers
        self.extra = extra or ["--log-level", "warning"]
        self._output: tuple[str, str] = ("", "")
        self.url = ""
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LiveServer:
        for port in range(8105, 8111):
            if self._start(port):
                return self
        raise AssertionError("gunicorn could not bind any port of 8105-8110")

    def _start(self, port: int) -> bool:
        import requests

        if listening_sockets(port):  # another run's server
            return False

        command = [str(Path(PYTHON).with_name("gunicorn")), "anomaly_site.wsgi", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(self.workers), "--timeout", "120", *self.extra]
        self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace")
                if "Address already in use" in error or "Connection in use" in error:
                    return False
                raise AssertionError(f"gunicorn exited {self.process.returncode}: {error[-3000:]}")
            try:
                requests.get(f"{self.url}/api/health", timeout=30)
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy starting
                time.sleep(0.2)
                continue
            if listens_on(self.process.pid, port):
                return True
            # Another run's server answered: ours is still retrying the bind. Try the next port.
            self.__exit__(None, None, None)
            return False
        self.__exit__(None, None, None)
        raise AssertionError("gunicorn did not answer within 120 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                out, err = self.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                out, err = self.process.communicate()
            self._output = (out.decode(errors="replace"), err.decode(errors="replace"))

    def output(self) -> tuple[str, str]:
        """What the server wrote to stdout and stderr, once it has stopped."""
        return self._output


class RedisServer:
    """A throwaway redis-server on a unix socket in `folder` (no TCP port another test run could share).

    `url` is what Q_REDIS_URL takes; `stop()` ends it (also on leaving the context). Skips the test
    where redis-server is not installed.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket_path = folder / "redis.sock"
        self.url = f"unix://{self.socket_path}?db=0"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> RedisServer:
        import pytest

        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (Debian package redis-server)")
        command = [binary, "--port", "0", "--unixsocket", str(self.socket_path), "--save", ""]
        command += ["--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self._wait_for_pong()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_pong(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.answers():
                return
            time.sleep(0.1)
        raise AssertionError(f"redis-server did not answer on {self.socket_path}")

    def answers(self) -> bool:
        """Whether the server answers PING on its socket now."""
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.settimeout(1)
                probe.connect(str(self.socket_path))
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc) -> None:
        self.stop()
