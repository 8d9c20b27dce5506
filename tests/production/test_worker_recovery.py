"""A real django-q2 worker killed mid-training and mid-ingest (SIGKILL of its whole process tree),
then restarted: the run is settled within a minute, a new run is accepted, the old model serves."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import write_csv
from transactions.demo_data import generate_demo_frame

from .processes import manage, start_cluster


def shell(code: str, env: dict[str, str]) -> dict:
    """Run `code` in `manage.py shell` and return the JSON it prints last."""
    out = manage("shell", "-c", code, env=env, timeout=300).stdout
    return json.loads(out.strip().splitlines()[-1])


def kill_tree(worker: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


def database_rows(env: dict[str, str], sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    """Rows read straight from the SQLite file (milliseconds, where a manage.py call takes seconds)."""
    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///"), timeout=30) as database:
        database.row_factory = sqlite3.Row
        return database.execute(sql, params).fetchall()


def job_row(env: dict[str, str], pk: int) -> dict:
    """The job's row."""
    return dict(database_rows(env, "SELECT * FROM transactions_backgroundjob WHERE id = ?", (pk,))[0])


def wait_for_status(env: dict[str, str], pk: int, statuses: set[str], *, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = job_row(env, pk)
        if row["status"] in statuses:
            return row
        time.sleep(0.2)
    raise AssertionError(f"job #{pk} did not reach {statuses} within {timeout} s: {row}")


def batch_statuses(env: dict[str, str]) -> list[str]:
    """The ImportBatch statuses."""
    return [row["status"] for row in database_rows(env, "SELECT status FROM transactions_importbatch ORDER BY id")]


def kill_mid_run_and_restart(
    env: dict[str, str], queue_code: str, log: Path, *, running: Callable[[], bool] | None = None
) -> None:
    """Queue a job (`queue_code` prints {"pk"}), SIGKILL the worker's tree once it runs (and, when
    given, once `running()` says its work is under way), start a new worker; assert the new worker
    settles the job as failed (interrupted) within a minute of the kill."""
    worker = start_cluster(env, log)
    try:
        job = shell(queue_code, env)["pk"]
        assert wait_for_status(env, job, {"running", "failed", "succeeded"}, timeout=300)["status"] == "running"
        deadline = time.monotonic() + 60
        while running is not None and not running() and time.monotonic() < deadline:
            time.sleep(0.05)
        kill_tree(worker)
        killed_at = time.monotonic()
        worker = start_cluster(env, log)
        state = wait_for_status(env, job, {"failed", "succeeded"}, timeout=90)
        settled_after = time.monotonic() - killed_at
        assert state["status"] == "failed" and "interrupted" in state["error"] and settled_after < 60
    finally:
        kill_tree(worker)


def test_a_training_killed_with_its_worker_is_failed_and_a_new_one_is_accepted(trained_site, tmp_path) -> None:
    env = trained_site
    before = shell(
        "import json; from detection.models import ModelVersion as M; v = M.objects.get(is_active=True); "
        "print(json.dumps({'id': v.pk, 'files': [a['path'] for a in v.artifacts.values()]}))",
        env,
    )
    queue = (
        "import json; from detection.training_jobs import queue_training; "
        "from detection.training_parameters import TrainingParameters as P; "
        "print(json.dumps({'pk': queue_training(parameters=P(epochs=500)).pk}))"
    )
    kill_mid_run_and_restart(env, queue, tmp_path / "worker.log")

    after = shell(
        "import json, pathlib; from detection.models import ModelVersion as M; "
        "from detection.services import claim_training; v = M.objects.get(is_active=True); "
        "print(json.dumps({'id': v.pk, 'new': claim_training().status, "
        "'files': [pathlib.Path(a['path']).is_file() for a in v.artifacts.values()]}))",
        env,
    )
    assert after["id"] == before["id"] and after["new"] == "training" and all(after["files"])


def test_an_ingest_killed_with_its_worker_is_failed_and_loses_nothing(trained_site, tmp_path) -> None:
    env = trained_site
    frame, _ = generate_demo_frame(300_000, seed=12)  # a load of several seconds: the kill lands inside it
    big = write_csv(tmp_path / "big.csv", frame)
    queue = (
        "import json, shutil, pathlib, uuid; from django.conf import settings; "
        "from jobs.services import create_job, enqueue; "
        "folder = pathlib.Path(settings.UPLOADS_DIR) / uuid.uuid4().hex; folder.mkdir(parents=True); "
        f"path = folder / 'big.csv'; shutil.copy('{big}', path); "
        "job = create_job(kind='ingest', upload_path=str(path)); "
        "print(json.dumps({'pk': enqueue(job, 'transactions.tasks.ingest_upload', job.pk).pk}))"
    )
    before = len(batch_statuses(env))
    kill_mid_run_and_restart(env, queue, tmp_path / "worker.log", running=lambda: len(batch_statuses(env)) > before)

    batches = shell(
        "import json; from transactions.models import ImportBatch as B, Transaction as T; "
        "print(json.dumps({'running': B.objects.filter(status='running').count(), 'rows': T.objects.count()}))",
        env,
    )
    assert batches["running"] == 0 and batches["rows"] < 3_100  # the killed batch left no rows
