"""Benchmark: webhook deliveries per second to a local receiver, and stored /api/score row -> delivered alert.created.

    python bench/webhooks.py [--db /tmp/cases-realdb/db.sqlite3] [--artifacts /tmp/cases-realdb/artifacts]
                             [--events 2000] [--alerts 50]

Works on a copy of a database with an active model (ingest the real file and train into it). A
receiver (http.server, threads) listens on 127.0.0.1, so DEBUG is on (loopback URLs are refused
otherwise). Part 1 emits `--events` events and times one `deliver_due` sweep in this process.
Part 2 starts a django-q2 worker (`manage.py qcluster`, ORM broker), posts `--alerts` requests of
one flagged row each (Quantity 50,000) to /api/score with store=true, and times from sending the
request to the receiver getting that row's alert.created. Prints medians and p99. Asserts nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from _realdb import REAL_DB, real_db_parser, scratch_folder

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-webhook-secret-0123456789abcdef"


class Receiver:
    """Records the arrival time of each event by its type and data."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.alerts: dict[int, float] = {}

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection per sending session

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                now = time.perf_counter()
                with receiver.lock:
                    receiver.count += 1
                    if body["type"] == "alert.created":
                        receiver.alerts[body["data"]["transaction_id"]] = now
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # a sender closing its keep-alive connection is not an error

        server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/hook"


def prepare(database: Path, artifacts: Path, folder: Path) -> dict[str, str]:
    copy = folder / "db.sqlite3"
    shutil.copyfile(database, copy)
    env = {
        "DATABASE_URL": f"sqlite:///{copy}",
        "ARTIFACTS_DIR": str(artifacts),
        "DEBUG": "1",  # the receiver is on loopback
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "API_USER_RATE": "1000000/min",
        "LOG_LEVEL": "ERROR",
        "Q_WORKERS": "1",
        "DJANGO_SETTINGS_MODULE": "anomaly_site.settings",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def deliveries_per_second(receiver: Receiver, url: str, events: int) -> None:
    from webhooks.models import Endpoint
    from webhooks.services import create_endpoint, deliver_due, emit_many

    endpoint = create_endpoint(url=url, event_types=["case.opened"], secret=SECRET)
    emit_many("case.opened", ({"id": n, "customer_id": 12346, "max_score": 0.99} for n in range(events)))
    started = time.perf_counter()
    counts = deliver_due()
    elapsed = time.perf_counter() - started
    print(
        f"deliveries: {counts['delivered']:,} of {events:,} in {elapsed:.2f} s = {counts['delivered'] / elapsed:,.0f} "
        "per second (one worker, keep-alive, signed, each outcome written to the delivery log)"
    )
    Endpoint.objects.filter(pk=endpoint.pk).delete()


def score_to_delivery(receiver: Receiver, url: str, env: dict[str, str], alerts: int) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from detection.selectors import active_model_version
    from transactions.models import Transaction
    from transactions.selectors import source_row
    from webhooks.services import create_endpoint

    version = active_model_version()
    if version is None:
        sys.exit("the database has no active model version: train one first")
    create_endpoint(url=url, event_types=["alert.created"], secret=SECRET)
    user = get_user_model().objects.create_superuser("bench-webhooks", "b@example.com", "x")
    client = Client()
    client.force_login(user)
    template = source_row(Transaction.objects.filter(customer_id=17841).order_by("-invoice_date").first())

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        latencies, requests_ms = [], []
        for n in range(alerts + 1):  # the first loads the model and warms the worker up: not counted
            row = {**template, "InvoiceNo": f"W{n:06d}", "Quantity": 50_000}
            started = time.perf_counter()
            response = client.post(
                "/api/score", json.dumps({"rows": [row], "store": True}), content_type="application/json"
            )
            answered = time.perf_counter()
            stored = response.json()["rows"][0]
            if not (stored["stored"] and stored["is_flagged"]):
                sys.exit(f"the posted row was not stored and flagged: {stored}")
            transaction_id = stored["transaction_id"]
            deadline = time.monotonic() + 60
            while transaction_id not in receiver.alerts and time.monotonic() < deadline:
                time.sleep(0.002)
            if transaction_id not in receiver.alerts:
                sys.exit(f"alert.created for {transaction_id} did not arrive within 60 s")
            if n:
                latencies.append((receiver.alerts[transaction_id] - started) * 1000)
                requests_ms.append((answered - started) * 1000)
        lat, req = np.array(latencies), np.array(requests_ms)
        print(
            f"/api/score store=true -> alert.created delivered by the worker ({alerts} rows): median "
            f"{np.median(lat):.0f} ms, p99 {np.percentile(lat, 99):.0f} ms; of which the request itself "
            f"median {np.median(req):.0f} ms, p99 {np.percentile(req, 99):.0f} ms"
        )
    finally:
        worker.send_signal(signal.SIGTERM)  # the main process only: signalling the group hangs its stop
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:  # its process group is ours alone
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


def main() -> None:
    parser = real_db_parser(__doc__)
    parser.add_argument("--artifacts", type=Path, default=REAL_DB.parent / "artifacts")
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--alerts", type=int, default=50)
    args = parser.parse_args()
    folder = scratch_folder(args.db, "bench-webhooks-")
    try:
        env = prepare(args.db, args.artifacts, folder)
        receiver = Receiver()
        url = receiver.start()
        deliveries_per_second(receiver, url, args.events)
        score_to_delivery(receiver, url, env, args.alerts)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
