"""Benchmark: API response times on a copy of a real-data database with an active model.

    python bench/api.py [--db /tmp/realdb/db.sqlite3] [--artifacts /tmp/realdb/artifacts] [--runs 300]
    python bench/api.py --server        # over a loopback gunicorn on 127.0.0.1:8101 instead of in-process
                                        # (then also prints the worker's RSS at the end)

Copies the database to a temporary folder (the original is never written), authenticates with a
token, warms every endpoint up (the first /api/score loads the model), then prints p50/p95/p99 per
endpoint and the queries one request makes. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _realdb import dated_after_the_data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PORT = 8101
HEAVY_CUSTOMER = 17841  # the most lines of the real file (7,812 scored, 655 flagged)


def prepare_environment(database: Path, artifacts: Path, folder: Path) -> None:
    """Copy the database into `folder` and point Django at the copy."""
    copy = folder / "db.sqlite3"
    shutil.copyfile(database, copy)
    os.environ.update(
        DATABASE_URL=f"sqlite:///{copy}",
        ARTIFACTS_DIR=str(artifacts),
        DEBUG="0",
        SECRET_KEY="bench-api-not-secret-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        API_USER_RATE="1000000/min",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback
        SECURE_COOKIES="0",
        LOG_LEVEL="ERROR",
        DJANGO_SETTINGS_MODULE="anomaly_site.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def api_token() -> str:
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    if user is None:
        sys.exit("the database has no superuser: run `manage.py ensure_admin` on it first")
    return AuthToken.objects.create(user=user)[1]


def light_customer() -> int:
    """A customer with exactly one flagged row (a typical light request)."""
    from django.db.models import Count, Q

    from detection.selectors import require_active_model_version, scores_for

    counts = (
        scores_for(require_active_model_version())
        .values("customer_id")
        .annotate(flagged=Count("id", filter=Q(is_flagged=True)), lines=Count("id"))
        .filter(flagged=1)
        .order_by("lines", "customer_id")
    )
    return counts[0]["customer_id"]


def source_rows(count: int, *, dated_after: bool = False) -> list[dict]:
    """`count` loaded transactions of customers, as a client would post them (the file's columns).

    With `dated_after`, dated the day after the real file's last day (same time of day), as new
    transactions are; else on their own dates (the file's first day).
    """
    from transactions.models import Transaction
    from transactions.selectors import source_row

    loaded = Transaction.objects.filter(customer__isnull=False, quantity__gt=0).order_by("id")[:count]
    rows = [{**source_row(txn), "InvoiceNo": f"B{txn.invoice_no}"} for txn in loaded]
    if dated_after:
        rows = dated_after_the_data(rows)
    return rows


class InProcess:
    """Requests through Django's test client: the whole middleware and view stack, no sockets."""

    def __init__(self, token: str):
        from django.test import Client

        self.client = Client(HTTP_AUTHORIZATION=f"Token {token}")

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        if method == "GET":
            response = self.client.get(path)
        else:
            response = self.client.post(path, json.dumps(body), content_type="application/json")
        return response.status_code, response.content

    def close(self) -> None:
        return None


class Loopback:
    """Requests over one keep-alive HTTP connection to a gunicorn worker on 127.0.0.1:PORT."""

    def __init__(self, token: str):
        self.token = token
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "anomaly_site.wsgi",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
                if self.request("GET", "/api/health")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.close()
                    sys.exit(f"the server on port {PORT} did not start")
                time.sleep(0.5)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Token {self.token}", "Connection": "keep-alive"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def worker_rss_mib(self) -> float:
        """The resident memory of the (only) gunicorn worker, from /proc (Linux)."""
        children = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children").read_text().split()
        status = Path(f"/proc/{children[0]}/status").read_text().splitlines()
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

    def close(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)


def query_count(call: Callable[[], tuple[int, bytes]]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def measure(call: Callable[[], tuple[int, bytes]], runs: int, warmup: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Wall and CPU milliseconds per request over `runs` calls after `warmup` calls, and the body size.

    CPU time is this process's (all threads): in-process, it is the request's own work, whatever
    else the machine is running; over loopback it is only the client's.
    """
    for _ in range(warmup):
        status, body = call()
        if status != 200:
            sys.exit(f"status {status}: {body[:300]!r}")
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        status, body = call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return np.array(wall), np.array(cpu), len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="/tmp/realdb/db.sqlite3")
    parser.add_argument("--artifacts", default="/tmp/realdb/artifacts")
    parser.add_argument("--runs", type=int, default=300, help="requests per endpoint (the 1,000-row score: a tenth)")
    parser.add_argument("--server", action="store_true", help=f"through gunicorn on 127.0.0.1:{PORT}")
    parser.add_argument("--score-only", action="store_true", help="only the /api/score lines")
    parser.add_argument("--dated-after", action="store_true", help="post rows dated after the real file's last day")
    args = parser.parse_args()
    if not Path(args.db).is_file():
        sys.exit(f"no database at {args.db}: pass --db (a database with data loaded and a model trained)")

    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        prepare_environment(Path(args.db), Path(args.artifacts), Path(folder))
        token = api_token()
        light = light_customer()
        one_row = source_rows(1, dated_after=args.dated_after)
        thousand_rows = source_rows(1000, dated_after=args.dated_after)
        driver = Loopback(token) if args.server else InProcess(token)
        cases: list[tuple[str, str, str, dict | None, int]] = [
            ("GET /customer_ids", "GET", "/customer_ids", None, args.runs),
            (
                f"POST /api/anomalies heavy {HEAVY_CUSTOMER}",
                "POST",
                "/api/anomalies",
                {"customer_id": str(HEAVY_CUSTOMER), "filter_metric": "TotalSpent"},
                args.runs,
            ),
            (
                f"POST /api/anomalies light {light}",
                "POST",
                "/api/anomalies",
                {"customer_id": light, "filter_metric": "TotalSpent"},
                args.runs,
            ),
            (
                "POST /api/anomalies seed 15311",
                "POST",
                "/api/anomalies",
                {"customer_id": "15311.0", "filter_metric": "HistFreq"},
                args.runs,
            ),
            (
                f"POST /api/anomalies {HEAVY_CUSTOMER} all, limit 1000",
                "POST",
                "/api/anomalies",
                {"customer_id": HEAVY_CUSTOMER, "filter_metric": "TotalSpent", "scope": "all", "limit": 1000},
                max(args.runs // 10, 10),
            ),
            ("POST /api/score 1 row", "POST", "/api/score", {"rows": one_row}, args.runs),
            ("POST /api/score 1,000 rows", "POST", "/api/score", {"rows": thousand_rows}, max(args.runs // 10, 10)),
            ("GET /api/transactions/ (50 rows)", "GET", "/api/transactions/?flagged=true", None, args.runs),
        ]
        if args.score_only:
            cases = [case for case in cases if case[2] == "/api/score"]
        mode = f"loopback gunicorn on 127.0.0.1:{PORT}" if args.server else "in-process test client"
        print(f"database copy of {args.db}; {mode}; token auth; milliseconds")
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(
            f"{'endpoint':44} {'runs':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} "
            f"{'cpu p50':>8} {'queries':>7} {'bytes':>9}"
        )
        try:
            for label, method, path, body, runs in cases:
                call = lambda method=method, path=path, body=body: driver.request(method, path, body)  # noqa: E731
                times, cpu, size = measure(call, runs, warmup=3)
                queries = "-" if args.server else str(query_count(call))
                cpu_p50 = "-" if args.server else f"{np.median(cpu):.1f}"
                p50, p95, p99 = np.percentile(times, [50, 95, 99])
                print(
                    f"{label:44} {runs:>5} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {times.max():>8.1f} "
                    f"{cpu_p50:>8} {queries:>7} {size:>9,}"
                )
                sys.stdout.flush()
            if args.server:
                print(f"gunicorn worker RSS after the run: {driver.worker_rss_mib():.0f} MiB")
        finally:
            driver.close()
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
