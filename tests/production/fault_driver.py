"""Steps run in a separate process by the production tests, against DATABASE_URL.

    python tests/production/fault_driver.py [--hang MARKER] STEP [STEP ...]

Steps run in order in one process (Django starts once) and the script prints one JSON list with
each step's result:

    ingest:PATH            load a file (migrates first)
    train                  train and activate a model (1 epoch)
    token                  an API token for the user `admin`
    state                  rows per table, batches, versions, and what /api/anomalies serves
    jobs                   background jobs and model versions: kind/status/error, status/error
    enqueue-chunks:N       queue chunked scoring of the unscored rows, N rows a chunk
    requeue[:GROUP]        queue the tasks of GROUP (default: the last group) again, as GROUP-retry
    wait-group:N[:GROUP]   wait until GROUP (default: the last group) has N finished tasks; their
                           results and the state of the score table

With --hang, ingest and train write MARKER once inside their database transaction with rows
written (ingest: the first chunk of Transaction rows; train: the score rows) and wait to be killed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anomaly_site.settings")


def hang(marker: str) -> None:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(600)


def ingest(path: str, marker: str | None) -> dict:
    from django.core.management import call_command

    from transactions.services import ingest_file

    call_command("migrate", verbosity=0)

    def progress(stage: str, done: int, total: int) -> None:
        if marker and stage == "load" and done > 0:
            hang(marker)

    outcome = ingest_file(path, progress=progress)
    return {"batch": outcome.batch.pk, "rows_loaded": outcome.batch.rows_loaded}


def train(marker: str | None) -> dict:
    from detection.services import train_and_activate

    def progress(stage: str, fraction: float) -> None:
        if marker and stage == "write" and fraction > 0.75:
            hang(marker)

    version = train_and_activate(epochs=1, seed=0, progress=progress)
    return {"version": version.pk, "rows": version.training_rows}


def token() -> dict:
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    admin = {"is_staff": True, "is_superuser": True}
    user, _ = get_user_model().objects.get_or_create(username="admin", defaults=admin)
    return {"token": AuthToken.objects.create(user=user)[1]}


def state() -> dict:
    """Rows per table, batches and versions, and what the API serves for a scored customer."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client

    from detection.models import ModelVersion, TransactionScore
    from transactions.models import ImportBatch, Transaction

    scores = dict(TransactionScore.objects.values_list("model_version").annotate(n=Count("id")).order_by())
    served = None
    customer = TransactionScore.objects.values_list("customer_id", flat=True).first()
    if customer is not None:
        from django.contrib.auth.models import Group

        user, _ = get_user_model().objects.get_or_create(username="fault-check", defaults={"is_staff": True})
        user.groups.add(Group.objects.get(name="Analyst"))  # reading anomalies needs its view permission
        client = Client()
        client.force_login(user)
        response = client.post(
            "/api/anomalies",
            {"customer_id": str(customer), "filter_metric": "TotalSpent"},
            content_type="application/json",
            HTTP_HOST="127.0.0.1",
        )
        served = {"status": response.status_code, "model_version": response.headers.get("X-Model-Version")}
    return {
        "transactions": Transaction.objects.count(),
        "batches": list(ImportBatch.objects.order_by("pk").values_list("pk", "status", "rows_loaded")),
        "versions": list(ModelVersion.objects.order_by("pk").values_list("pk", "status", "is_active")),
        "scores": {str(key): value for key, value in scores.items()},
        "served": served,
    }


def jobs() -> dict:
    """Every background job and model version, oldest first."""
    from detection.models import ModelVersion
    from jobs.models import BackgroundJob

    return {
        "jobs": list(BackgroundJob.objects.order_by("pk").values("kind", "status", "error")),
        "versions": list(ModelVersion.objects.order_by("pk").values("status", "error")),
    }


def enqueue_chunks(chunk_rows: int, context: dict) -> dict:
    from detection.chunked import enqueue_chunked_scoring, unscored_transactions
    from detection.services import active_version

    unscored = unscored_transactions(active_version()).count()
    group, ranges = enqueue_chunked_scoring(chunk_rows=chunk_rows)
    context["group"] = group
    return {"group": group, "ranges": ranges, "unscored": unscored}


def requeue(group: str, context: dict) -> dict:
    from django_q.models import Task
    from django_q.tasks import async_task

    tasks = list(Task.objects.filter(group=group or context["group"]).order_by("started"))
    context["group"] = f"{group or context['group']}-retry"
    for task in tasks:
        async_task(task.func, *task.args, group=context["group"])
    return {"group": context["group"], "tasks": len(tasks)}


def wait_group(count: int, context: dict, timeout: float = 240) -> dict:
    """Wait for `count` finished tasks of the last group; return their results and the score table's state."""
    from django.db.models import Count
    from django_q.models import Task

    from detection.chunked import unscored_id_ranges, unscored_transactions
    from detection.models import TransactionScore
    from detection.services import active_version

    tasks = Task.objects.filter(group=context["group"])
    deadline = time.monotonic() + timeout
    while tasks.count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{tasks.count()} of {count} tasks of {context['group']} finished in {timeout} s")
        time.sleep(0.5)
    version = active_version()
    per_row = TransactionScore.objects.filter(model_version=version).values("transaction_id").annotate(n=Count("id"))
    return {
        "finished": tasks.count(),
        "succeeded": tasks.filter(success=True).count(),
        "written": sum(result or 0 for result in tasks.filter(success=True).values_list("result", flat=True)),
        "unscored": unscored_transactions(version).count(),
        "ranges_left": unscored_id_ranges(version),
        "scores": TransactionScore.objects.filter(model_version=version).count(),
        "duplicated_rows": per_row.filter(n__gt=1).count(),
    }


def run(step: str, marker: str | None, context: dict) -> dict:
    name, _, argument = step.partition(":")
    if name == "ingest":
        return ingest(argument, marker)
    if name == "train":
        return train(marker)
    if name == "token":
        return token()
    if name == "state":
        return state()
    if name == "jobs":
        return jobs()
    if name == "enqueue-chunks":
        return enqueue_chunks(int(argument), context)
    if name == "requeue":
        return requeue(argument, context)
    if name == "wait-group":
        count, _, group = argument.partition(":")
        if group:
            context["group"] = group
        return wait_group(int(count), context)
    raise SystemExit(f"unknown step {step!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("steps", nargs="+")
    parser.add_argument("--hang", default=None)
    args = parser.parse_args()
    import django

    django.setup()
    context: dict = {}
    print(json.dumps([run(step, args.hang, context) for step in args.steps]))


if __name__ == "__main__":
    main()
