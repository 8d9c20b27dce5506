"""Steps run in a separate process by the fault tests, against DATABASE_URL; each prints one JSON line.

    python tests/production/fault_driver.py ingest PATH [--hang MARKER]
    python tests/production/fault_driver.py train [--epochs N] [--hang MARKER]
    python tests/production/fault_driver.py token
    python tests/production/fault_driver.py state

With --hang, the step writes MARKER once it is inside its database transaction with rows written
(ingest: the first chunk of Transaction rows; train: the score rows) and then waits to be killed.
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


def train(epochs: int, marker: str | None) -> dict:
    from detection.services import train_and_activate

    def progress(stage: str, fraction: float) -> None:
        if marker and stage == "write" and fraction > 0.75:
            hang(marker)

    version = train_and_activate(epochs=epochs, seed=0, progress=progress)
    return {"version": version.pk, "rows": version.training_rows}


def token() -> dict:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    admin = {"is_staff": True, "is_superuser": True}
    user, _ = get_user_model().objects.get_or_create(username="admin", defaults=admin)
    return {"token": Token.objects.get_or_create(user=user)[0].key}


def state() -> dict:
    """Rows per table, batches and versions, and what the API serves for the top customer."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client

    from detection.models import ModelVersion, TransactionScore
    from transactions.models import ImportBatch, Transaction

    scores = dict(TransactionScore.objects.values_list("model_version").annotate(n=Count("id")).order_by())
    served = None
    customer = TransactionScore.objects.values_list("customer_id", flat=True).first()
    if customer is not None:
        user, _ = get_user_model().objects.get_or_create(username="fault-check", defaults={"is_staff": True})
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["ingest", "train", "token", "state"])
    parser.add_argument("path", nargs="?")
    parser.add_argument("--hang", default=None)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    import django

    django.setup()
    if args.step == "ingest":
        result = ingest(args.path, args.hang)
    elif args.step == "train":
        result = train(args.epochs, args.hang)
    elif args.step == "token":
        result = token()
    else:
        result = state()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
