"""Benchmark: the dashboard's main callback and its first page load, on a copy of the real database.

    cp /tmp/realdb/db.sqlite3 /tmp/me/ && DATABASE_URL=sqlite:////tmp/me/db.sqlite3 \
        ARTIFACTS_DIR=/tmp/realdb/artifacts python bench/dashboard.py [--runs 5] [--port 8102]

Runs `migrate` on that database, then prints:
- the median server time of the main callback (customer + metric change), posted to
  django-plotly-dash's update endpoint through Django's test Client (no network), over the
  customers with most anomalies and customers picked at random, every metric; and without a customer;
- the median time of a block of the server-side table for typical sorts and filters, and of the
  overview charts' callback with an empty cache and cached;
- the customer profile page of 17841 (the busiest customer), through the test Client;
- the first page load over loopback from a gunicorn server: the page HTML, the Dash app's HTML,
  its layout and its callback graph (what the browser fetches before any chart), median of the runs
  after a cold first load, which is printed apart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_USER = "dashboard-bench"
BENCH_PASSWORD = "dashboard-bench-pass-123"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anomaly_site.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def update_body(output: str, inputs: list[dict]) -> str:
    """A django-plotly-dash update request as the browser sends it."""
    outputs = [dict(zip(("id", "property"), item.split("."), strict=True)) for item in output.strip(".").split("...")]
    return json.dumps(
        {
            "output": output,
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": inputs,
            "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
        }
    )


class Endpoint:
    """The Dash app's update endpoint, called through Django's test Client as a logged-in user."""

    def __init__(self) -> None:
        from django.http import HttpRequest
        from django.test import Client

        from dashboard.dash_app import APP_NAME

        self.client = Client()
        # django-axes needs a request to authenticate against.
        assert self.client.login(request=HttpRequest(), username=BENCH_USER, password=BENCH_PASSWORD)
        app_url = f"/django_plotly_dash/app/{APP_NAME}/"
        self.url = app_url + "_dash-update-component"
        self.outputs = [item["output"] for item in self.client.get(app_url + "_dash-dependencies").json()]

    def output_with(self, prop: str) -> str:
        (output,) = [item for item in self.outputs if prop in item]
        return output

    def seconds(self, output: str, inputs: list[dict]) -> float:
        body = update_body(output, inputs)
        start = time.perf_counter()
        response = self.client.post(self.url, body, content_type="application/json")
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.status_code
        return elapsed


def time_main_callback(endpoint: Endpoint, customers: list[int | None], runs: int) -> list[float]:
    """Seconds per main-callback call, for every customer x metric, `runs` rounds after a warm-up."""
    from detection.fields import METRICS

    output = endpoint.output_with("top-anomalies.figure")

    def inputs(customer: int | None, metric: str) -> list[dict]:
        return [
            {"id": "customer", "property": "value", "value": customer},
            {"id": "metric", "property": "value", "value": metric},
        ]

    endpoint.seconds(output, inputs(customers[0], "TotalSpent"))
    return [
        endpoint.seconds(output, inputs(customer, metric))
        for _ in range(runs)
        for customer in customers
        for metric in METRICS
    ]


TABLE_REQUESTS = {
    "default order (anomaly_score)": {"startRow": 0, "endRow": 100},
    "sorted by TotalSpent": {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "total_spent", "sort": "desc"}]},
    "Description contains 'heart'": {
        "startRow": 0,
        "endRow": 100,
        "filterModel": {"description": {"filterType": "text", "type": "contains", "filter": "heart"}},
    },
    "one customer, QuantitySpike true": {
        "startRow": 0,
        "endRow": 100,
        "filterModel": {
            "customer_id": {"filterType": "number", "type": "equals", "filter": 17841},
            "quantity_spike": {"filterType": "text", "type": "true"},
        },
    },
    "rows 200,000-200,100": {"startRow": 200_000, "endRow": 200_100},
}


def time_table(endpoint: Endpoint, runs: int) -> dict[str, float]:
    """Median seconds of one block of the server-side table, per kind of request."""
    output = endpoint.output_with("score-table.getRowsResponse")
    medians = {}
    for name, request in TABLE_REQUESTS.items():
        inputs = [{"id": "score-table", "property": "getRowsRequest", "value": {"sortModel": [], **request}}]
        medians[name] = statistics.median(endpoint.seconds(output, inputs) for _ in range(runs))
    return medians


def time_overview(endpoint: Endpoint, runs: int) -> tuple[float, float]:
    """Seconds of the overview callback with an empty cache, then the median once cached."""
    from django.core.cache import cache

    output = endpoint.output_with("over-time.figure")
    inputs = [{"id": "period", "property": "value", "value": "week"}]
    cache.clear()
    cold = endpoint.seconds(output, inputs)
    return cold, statistics.median(endpoint.seconds(output, inputs) for _ in range(runs))


PROFILE_CUSTOMER = 17841  # the customer with the most lines in the real file


def time_profile(endpoint: Endpoint, runs: int, customer: int = PROFILE_CUSTOMER) -> tuple[float, float]:
    """Server seconds of the customer profile page (GET /customers/<id>/): the first call, then the median."""

    def once() -> float:
        start = time.perf_counter()
        response = endpoint.client.get(f"/customers/{customer}/")
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.status_code
        return elapsed

    first = once()
    return first, statistics.median(once() for _ in range(max(runs, 5)))


def wait_for(url: str, timeout: float = 120.0) -> None:
    """Wait until `url` answers (the first request also imports the URL configuration and Dash)."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=30, allow_redirects=False)
            return
        except requests.RequestException:
            time.sleep(0.3)
    sys.exit(f"no server answered at {url}")


def page_load_seconds(base: str) -> tuple[float, dict[str, float]]:
    """Log in with a fresh session, then time the page, the app's HTML, its layout and dependencies:
    the total and the seconds per request."""
    import requests

    from dashboard.dash_app import APP_NAME

    session = requests.Session()
    login = f"{base}/admin/login/"
    session.get(login)
    response = session.post(
        login,
        data={
            "username": BENCH_USER,
            "password": BENCH_PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/",
        },
        headers={"Referer": login},
        allow_redirects=False,
    )
    assert response.status_code == 302, f"login failed: {response.status_code}"
    app_url = f"{base}/django_plotly_dash/app/{APP_NAME}/"
    parts = {}
    for name, url in (
        ("page", f"{base}/"),
        ("app", app_url),
        ("layout", app_url + "_dash-layout"),
        ("dependencies", app_url + "_dash-dependencies"),
    ):
        start = time.perf_counter()
        answer = session.get(url, allow_redirects=False)
        parts[name] = time.perf_counter() - start
        assert answer.status_code == 200, f"{url}: {answer.status_code}"
    return sum(parts.values()), parts


def time_page_load(port: int, runs: int) -> tuple[tuple[float, dict[str, float]], list[float]]:
    """Start gunicorn on `port` with this environment; return the cold first load and the later ones."""
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "anomaly_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        wait_for(f"{base}/admin/login/")
        cold = page_load_seconds(base)
        warm = [page_load_seconds(base)[0] for _ in range(runs)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    return cold, warm


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--customers", type=int, default=5, help="top and random customers each")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a copy of the real database (never the project's own db.sqlite3).")

    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from detection.selectors import customers_by_anomalies, headline_figures
    from transactions.selectors import customer_ids

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER, defaults={"is_staff": True})
    user.set_password(BENCH_PASSWORD)
    user.save()

    figures = headline_figures()
    print(f"database: {figures.transactions_scored:,} scored rows, {figures.customers:,} customers")
    top = [item["customer_id"] for item in customers_by_anomalies(limit=args.customers)]
    spread = random.Random(0).sample(customer_ids(), args.customers)

    endpoint = Endpoint()
    for label, customers in (("top customers", top), ("random customers", spread), ("no customer", [None])):
        seconds = time_main_callback(endpoint, customers, args.runs)
        print(
            f"main callback, {label}: median {ms(statistics.median(seconds))}, "
            f"max {ms(max(seconds))} over {len(seconds)} calls"
        )
    for name, seconds in time_table(endpoint, args.runs).items():
        print(f"server-side table block of 100, {name}: median {ms(seconds)}")
    first, median = time_profile(endpoint, args.runs)
    print(f"customer profile page of {PROFILE_CUSTOMER}: median {ms(median)} (first call {ms(first)})")
    cold, cached = time_overview(endpoint, args.runs)
    print(f"overview callback (over time, by country, distribution): empty cache {ms(cold)}, cached {ms(cached)}")

    (cold, parts), warm = time_page_load(args.port, args.runs)
    print(
        f"first page load (page + app HTML + layout + dependencies) over loopback: "
        f"median {ms(statistics.median(warm))} of {len(warm)} sessions; the first after the server "
        f"started {ms(cold)} ({', '.join(f'{name} {ms(value)}' for name, value in parts.items())})"
    )


if __name__ == "__main__":
    main()
