"""With LOG_FORMAT=json every line gunicorn and the worker write is one JSON object."""

from __future__ import annotations

import json
import time

import requests

from .processes import LiveServer, child_env, manage, start_cluster, stop_cluster


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise AssertionError(f"not JSON: {line!r}") from exc
    return parsed


def test_gunicorn_writes_only_json_lines_with_request_ids(tmp_path) -> None:
    env = child_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", LOG_FORMAT="json", DEBUG="1")
    manage("migrate", "--verbosity", "0", env=env)
    server = LiveServer(env, extra=["--access-logfile", "-", "--log-level", "info"])
    with server:
        ok = requests.get(f"{server.url}/api/health", timeout=30)
        missing = requests.get(f"{server.url}/no-such-page", timeout=30)
        refused = requests.get(f"{server.url}/customer_ids", headers={"X-Request-ID": "probe-1234abcd"}, timeout=30)
    out, err = server.output()

    lines = json_lines(out) + json_lines(err)
    assert ok.status_code == 200 and missing.status_code == 404 and refused.status_code == 401
    assert refused.headers["X-Request-ID"] == "probe-1234abcd"
    messages = [line["message"] for line in lines]
    assert any("Listening at" in message for message in messages)
    assert any('"GET /no-such-page HTTP/1.1" 404' in message for message in messages)
    assert any(line.get("request_id") == "probe-1234abcd" for line in lines) or any(
        "probe-1234abcd" in message for message in messages
    )


def test_gunicorn_logs_requests_only_when_an_access_log_is_asked_for(tmp_path) -> None:
    env = child_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DEBUG="1")
    manage("migrate", "--verbosity", "0", env=env)
    server = LiveServer(env, extra=["--log-level", "info"])
    with server:
        assert requests.get(f"{server.url}/no-such-page", timeout=30).status_code == 404
    out, err = server.output()

    assert "Listening at" in out + err
    assert "GET /no-such-page" not in out + err


def test_the_worker_writes_only_json_lines(tmp_path) -> None:
    env = child_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", LOG_FORMAT="json", DEBUG="1")
    manage("migrate", "--verbosity", "0", env=env)
    manage("setup_periodic_tasks", env=env)
    log = tmp_path / "worker.log"
    worker = start_cluster(env, log)
    deadline = time.monotonic() + 120
    while "recover_dead_jobs_task" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)  # start, spawn workers, run the sweep schedule once
    stop_cluster(worker)

    lines = json_lines(log.read_text())
    assert lines, "the worker wrote nothing"
    assert any(line.get("logger") == "django-q" for line in lines)


def test_workers_skip_the_access_line_unless_an_access_log_is_asked_for() -> None:
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    for accesslog, gathers in ((None, False), ("-", True)):
        cfg = Config()
        cfg.set("logconfig_dict", conf["logconfig_dict"])
        if accesslog:
            cfg.set("accesslog", accesslog)
        worker = SimpleNamespace(log=Logger(cfg))
        gathered: list = []

        def atoms(*args, into: list = gathered) -> dict:  # the line's fields, recorded
            into.append(args)
            return {}

        worker.log.atoms = atoms
        conf["post_fork"](SimpleNamespace(cfg=cfg), worker)
        worker.log.access(SimpleNamespace(), SimpleNamespace(), {}, 0.001)
        assert bool(gathered) is gathers
