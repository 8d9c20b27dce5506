"""Load test: gunicorn on 127.0.0.1 over a copy of a real-data database, many concurrent clients.

    python bench/load.py [--db /tmp/realdb/db.sqlite3] [--artifacts /tmp/realdb/artifacts]
                         [--workers 4] [--clients 50] [--seconds 60] [--think 0.0] [--port 8104]
                         [--posted new|stored] [--cache-url redis://127.0.0.1:6379/1]

Each client loops for --seconds: it picks /api/anomalies (a random customer and metric),
/customer_ids or /api/score (one real row: by default dated the day after the data's last day, as a
new transaction is; `--posted stored` keeps its own date, the slower point-in-time path over the
stored rows) with equal odds, sends it with the admin user's token
on a new connection (gunicorn's sync workers close each one), waits for the whole response, then
pauses --think seconds. Only loopback traffic; the run stops by itself. Prints requests/s, p50,
p95, p99 and max per endpoint and overall, the errors (any status but 200, or no answer), and the
CPU time the gunicorn workers and the clients spent per request (from /proc and getrusage: less
sensitive than requests/s to what else the shared machine runs), and each worker's resident memory
(VmRSS, of it RssFile: pages of mapped files such as memory-mapped artifacts, shared through the
page cache) once the warm-up is over and again at the end.
The database copy is deleted afterwards; the original is never written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from _realdb import dated_after_the_data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def server_environment(database: Path, artifacts: Path, cache_url: str = "") -> dict[str, str]:
    return {
        **os.environ,
        **({"CACHE_URL": cache_url} if cache_url else {}),
        "DATABASE_URL": f"sqlite:///{database}",
        "ARTIFACTS_DIR": str(artifacts),
        "DEBUG": "0",
        "SECRET_KEY": "bench-load-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback
        "SECURE_COOKIES": "0",
        "CONN_MAX_AGE": "60",
        # One user sends every request here: the per-user throttle would measure itself.
        "API_USER_RATE": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


def fixtures(env: dict[str, str], posted: str = "new") -> tuple[str, list[int], list[dict], list[str]]:
    """Return the admin's API token, the customer ids, 200 scoreable rows in the file's columns and the metrics."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "anomaly_site.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from knox.models import AuthToken

    from detection.fields import METRICS
    from transactions.models import Transaction
    from transactions.selectors import customer_ids, source_row

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    if user is None:
        sys.exit("the database has no superuser: run `manage.py ensure_admin` on it first")
    token = AuthToken.objects.create(user=user)[1]
    loaded = Transaction.objects.filter(customer__isnull=False, quantity__gt=0).order_by("?")[:200]
    rows = [{**source_row(txn), "InvoiceNo": f"L{txn.invoice_no}"} for txn in loaded]
    if posted == "new":  # dated the day after the file's last day, as new transactions are
        rows = dated_after_the_data(rows)
    from django.db import connection

    connection.close()
    return token, customer_ids(), rows, list(METRICS)


def request_bytes(method: str, path: str, token: str, port: int, body: dict | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Authorization: Token {token}",
        "Accept: application/json",
        "Connection: close",
    ]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def send(port: int, raw: bytes, timeout: float) -> int:
    """Send one request on a new connection; return the HTTP status once the whole response is read."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(raw)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout)  # the server closes the connection
    finally:
        writer.close()
    return int(response.split(b" ", 2)[1])


async def client(port: int, token: str, customers: list[int], rows: list[dict], args, stop_at: float, out) -> None:
    rng = random.Random()
    while time.monotonic() < stop_at:
        kind = rng.choice(["anomalies", "customer_ids", "score"])
        if kind == "anomalies":
            body = {"customer_id": str(rng.choice(customers)), "filter_metric": rng.choice(args.metrics)}
            raw = request_bytes("POST", "/api/anomalies", token, port, body)
        elif kind == "customer_ids":
            raw = request_bytes("GET", "/customer_ids", token, port)
        else:
            raw = request_bytes("POST", "/api/score", token, port, {"rows": [rng.choice(rows)]})
        start = time.perf_counter()
        try:
            status = await send(port, raw, timeout=30)
        except (OSError, TimeoutError, IndexError, ValueError) as exc:
            status = type(exc).__name__
        out.append((kind, status, time.perf_counter() - start))
        if args.think:
            await asyncio.sleep(args.think)


async def run_clients(port, token, customers, rows, args, count: int, seconds: float) -> list:
    out: list = []
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(client(port, token, customers, rows, args, stop_at, out) for _ in range(count)))
    return out


def warm_up(port: int, token: str, rows: list[dict], workers: int, timeout: float = 300) -> None:
    """Send rounds of concurrent /api/score requests until one round is all 200 and fast: by then every
    worker has imported the views and loaded the model (not measured)."""

    async def one_round() -> list[tuple[int | str, float]]:
        async def timed(raw: bytes) -> tuple[int | str, float]:
            start = time.perf_counter()
            try:
                return await send(port, raw, timeout=180), time.perf_counter() - start
            except (OSError, TimeoutError) as exc:
                return type(exc).__name__, time.perf_counter() - start

        raws = [request_bytes("POST", "/api/score", token, port, {"rows": [row]}) for row in rows[: workers * 3]]
        return await asyncio.gather(*(timed(raw) for raw in raws))

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = asyncio.run(one_round())
        if all(status == 200 for status, _ in answers) and max(seconds for _, seconds in answers) < 1.0:
            return
    sys.exit(f"the workers did not warm up within {timeout} s: last round {answers}")


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with status {server.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"gunicorn did not answer {url} within {timeout} s")


def workers_cpu_seconds(server: subprocess.Popen) -> float:
    """User + system CPU seconds of the gunicorn master's live children (its workers), from /proc (Linux)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a worker that just exited
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def workers_rss_mib(server: subprocess.Popen) -> list[tuple[float, float]]:
    """(VmRSS, RssFile) in MiB of each live gunicorn worker, from /proc (Linux)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:  # a worker that just exited
            continue
        fields = {line.split(":")[0]: line.split()[1] for line in lines if line.startswith(("VmRSS", "RssFile"))}
        sizes.append((int(fields["VmRSS"]) / 1024, int(fields["RssFile"]) / 1024))
    return sizes


def rss_line(label: str, sizes: list[tuple[float, float]]) -> str:
    listed = ", ".join(f"{rss:.0f} (file {file:.0f})" for rss, file in sizes)
    return f"worker RSS {label}: {listed} MiB"


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summary(label: str, results: list, seconds: float) -> str:
    latencies = np.array([latency for _, _, latency in results]) * 1000
    errors = sum(status != 200 for _, status, _ in results)
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99]) if len(latencies) else (0, 0, 0)
    return (
        f"{label:<16} {len(results):>7,} req {len(results) / seconds:>7.1f}/s   p50 {p50:6.1f}  p95 {p95:6.1f}"
        f"  p99 {p99:6.1f}  max {latencies.max() if len(latencies) else 0:7.1f} ms   errors {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=Path("/tmp/realdb/db.sqlite3"))
    parser.add_argument("--artifacts", type=Path, default=Path("/tmp/realdb/artifacts"))
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=0.0, help="pause of each client between requests (s)")
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--cache-url", default="", help="the site's CACHE_URL (default: its own, the database table)")
    parser.add_argument(
        "--posted",
        choices=["new", "stored"],
        default="new",
        help="/api/score rows: new transactions dated after the data (default), or stored ones on their own dates",
    )
    args = parser.parse_args()
    if not args.db.is_file():
        sys.exit(f"no database at {args.db}: ingest and train on a SQLite database first")

    with tempfile.TemporaryDirectory(prefix="anomaly-load-") as folder:
        database = Path(folder) / "db.sqlite3"
        shutil.copyfile(args.db, database)
        env = server_environment(database, args.artifacts, args.cache_url)
        token, customers, rows, metrics = fixtures(env, args.posted)
        args.metrics = metrics
        command = [str(Path(sys.executable).with_name("gunicorn")), "anomaly_site.wsgi"]
        command += ["--bind", f"127.0.0.1:{args.port}", "--workers", str(args.workers), "--timeout", "120"]
        command += ["--log-level", "warning"]
        server = subprocess.Popen(command, env=env, cwd=ROOT)
        try:
            wait_until_up(f"http://127.0.0.1:{args.port}/api/health", server)
            warm_up(args.port, token, rows, args.workers)
            warm_rss = workers_rss_mib(server)
            started, server_cpu, client_cpu = time.monotonic(), workers_cpu_seconds(server), own_cpu_seconds()
            results = asyncio.run(run_clients(args.port, token, customers, rows, args, args.clients, args.seconds))
            elapsed = time.monotonic() - started
            server_cpu = workers_cpu_seconds(server) - server_cpu
            client_cpu = own_cpu_seconds() - client_cpu
            end_rss = workers_rss_mib(server)
        finally:
            server.terminate()
            server.wait(timeout=60)

    load = os.getloadavg()[0]
    print(
        f"gunicorn {args.workers} sync workers, {args.clients} clients, {elapsed:.0f} s, think {args.think} s, "
        f"{os.cpu_count()} cores (load average {load:.1f} at the end); latencies in ms"
    )
    for kind in ["anomalies", "customer_ids", "score"]:
        print(summary(kind, [r for r in results if r[0] == kind], elapsed))
    print(summary("all", results, elapsed))
    print(
        f"CPU per request: workers {server_cpu / len(results) * 1000:.2f} ms, "
        f"clients {client_cpu / len(results) * 1000:.2f} ms"
    )
    print(rss_line("after the warm-up", warm_rss))
    print(rss_line("at the end", end_rss))
    failures: dict = {}
    for kind, status, _ in results:
        if status != 200:
            failures[(kind, status)] = failures.get((kind, status), 0) + 1
    for (kind, status), count in sorted(failures.items(), key=str):
        print(f"  error: {kind} -> {status}: {count}")


if __name__ == "__main__":
    main()
