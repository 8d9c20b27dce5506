"""Benchmark: the dashboard's overview charts and deep grid pages at real-file size, on SQLite and PostgreSQL.

    python bench/dashboard_scale.py [--db /tmp/cases-realdb/db.sqlite3] [--postgres-url postgres://...]
                                    [--code DIR] [--runs 5] [--databases sqlite postgres]

`--db` is a SQLite database with the real file ingested and a model trained (see bench/_realdb.py).
Each database gets a fresh copy: the SQLite file is copied and migrated; the PostgreSQL database is
created empty, migrated, filled from that migrated copy (COPY, table by table) and VACUUM ANALYZEd
as autovacuum would leave it. `--code` runs the project found in DIR instead of this checkout (for
instance the main checkout, to print the figures before a change from the same machine state).

Prints, per database, medians of `--runs` calls with an empty cache: the over-time chart per week
and per day (selector + figure), the per-country chart, and one block of 100 grid rows (what the
table callback does: selector + row shaping) at the first page, row 200,000 and the last page for
the default sort and the common sorts, two filtered pages, and pages of filters on the copied text
and price columns (contains, UnitPrice > / <) with sorts, at the first page, the middle and the last
(FILTERED_SORTS). Then the first read of sorts without an index of their own and of filtered pages
deep in an indexed sort: one block at a middle row, each the first call of a fresh process, median
of `--runs` processes (`--filtered-only`: the filtered pages and their first reads alone). When
the code has `manage.py write_sort_orders`, it runs first on each copy (what the background task
after training does; its time is printed), each database with an artifacts folder of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _realdb import real_db_parser, scratch_folder

ROOT = Path(__file__).resolve().parents[1]
# Copied in this order (foreign keys); a table missing from either side is skipped.
COPIED_TABLES = [
    "transactions_importbatch",
    "transactions_customer",
    "transactions_transaction",
    "detection_modelversion",
    "detection_transactionscore",
    "detection_dailyscorecount",
]
DEEP_ROW = 200_000
SORTS = {
    "default (anomaly_score desc)": [],
    "anomaly_score asc": [{"colId": "anomaly_score", "sort": "asc"}],
    "TotalSpent desc": [{"colId": "total_spent", "sort": "desc"}],
    "TotalSpent asc": [{"colId": "total_spent", "sort": "asc"}],
    "InvoiceDate desc": [{"colId": "invoice_date", "sort": "desc"}],
    "InvoiceDate asc": [{"colId": "invoice_date", "sort": "asc"}],
    "CustomerID asc": [{"colId": "customer_id", "sort": "asc"}],
}
FILTERS = {
    "flagged only": {"is_flagged": {"filterType": "text", "type": "true"}},
    "Country = France": {"country": {"filterType": "text", "type": "equals", "filter": "France"}},
}
# Filters reading each row's copied text or price, with sorts and deep pages: (sort model, filter model).
HEART = {"description": {"filterType": "text", "type": "contains", "filter": "heart"}}
UNIT_PRICE_OVER_3 = {"unit_price": {"filterType": "number", "type": "greaterThan", "filter": 3}}
UNIT_PRICE_UNDER_1 = {"unit_price": {"filterType": "number", "type": "lessThan", "filter": 1}}
FILTERED_SORTS = {
    "Description contains heart": ([], HEART),
    "Description contains heart, TotalSpent desc": ([{"colId": "total_spent", "sort": "desc"}], HEART),
    "Description contains heart, CustomerID asc": ([{"colId": "customer_id", "sort": "asc"}], HEART),
    "StockCode contains 2272": ([], {"stock_code": {"filterType": "text", "type": "contains", "filter": "2272"}}),
    "InvoiceNo contains 5367": ([], {"invoice_no": {"filterType": "text", "type": "contains", "filter": "5367"}}),
    "Country contains ger": ([], {"country": {"filterType": "text", "type": "contains", "filter": "ger"}}),
    "UnitPrice > 3": ([], UNIT_PRICE_OVER_3),
    "UnitPrice > 3, InvoiceDate asc": ([{"colId": "invoice_date", "sort": "asc"}], UNIT_PRICE_OVER_3),
    "UnitPrice < 1": ([], UNIT_PRICE_UNDER_1),
    "UnitPrice < 1, Quantity desc": ([{"colId": "quantity", "sort": "desc"}], UNIT_PRICE_UNDER_1),
}
NOT_UK = {"country": {"filterType": "text", "type": "notEqual", "filter": "United Kingdom"}}
QUANTITY_OVER_5 = {"quantity": {"filterType": "number", "type": "greaterThan", "filter": 5}}
# Sorts without an index of their own, and filtered pages deep in an indexed sort (the version's order
# read once per process: detection.grid.WALKED_ROWS), read first in a fresh process: (sort model,
# filter model, row).
FILTERED_FIRST_READS = {
    "Description contains heart, row 18,000": ([], HEART, 18_000),
    "UnitPrice > 3, row 55,000": ([], UNIT_PRICE_OVER_3, 55_000),
}
FIRST_READS = {
    **FILTERED_FIRST_READS,
    "CustomerID asc": ([{"colId": "customer_id", "sort": "asc"}], {}, DEEP_ROW),
    "Description asc": ([{"colId": "description", "sort": "asc"}], {}, DEEP_ROW),
    "Quantity desc": ([{"colId": "quantity", "sort": "desc"}], {}, DEEP_ROW),
    "ZScore desc": ([{"colId": "zscore", "sort": "desc"}], {}, DEEP_ROW),
    "Country != United Kingdom, Description asc": ([{"colId": "description", "sort": "asc"}], NOT_UK, 20_000),
    "Quantity > 5, CustomerID asc": ([{"colId": "customer_id", "sort": "asc"}], QUANTITY_OVER_5, 20_000),
}


def median_ms(call, runs: int) -> float:
    """Median milliseconds of `runs` calls of `call` (after clearing the cache before each)."""
    from django.core.cache import cache

    seconds = []
    for _ in range(runs):
        cache.clear()
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return round(statistics.median(seconds) * 1000, 1)


def grid_block(request: dict) -> int:
    """One block of grid rows as the table callback reads it (selector + row shaping); the row count."""
    from dashboard.tables import grid_rows, page_query
    from detection.grid import scores_page

    query = page_query(request)
    rows, total = scores_page(offset=query.offset, limit=query.limit, order_by=query.order_by, filters=query.filters)
    grid_rows(rows)
    return total


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anomaly_site.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    import dashboard.tables  # noqa: F401  (imported before any timing, as in a served process)
    import detection.grid  # noqa: F401


def first_read_child(name: str) -> None:
    """Time the first grid block of FIRST_READS[name] in this fresh process; print its milliseconds."""
    django_setup()
    sort_model, filter_model, row = FIRST_READS[name]
    start = time.perf_counter()
    grid_block({"startRow": row, "endRow": row + 100, "sortModel": sort_model, "filterModel": filter_model})
    print(json.dumps((time.perf_counter() - start) * 1000))


def child(runs: int, *, filtered_only: bool = False) -> None:
    """Time the reads in this process against DATABASE_URL; print one JSON line. `filtered_only`:
    FILTERED_SORTS alone."""
    django_setup()
    if filtered_only:
        out = filtered_sorts(runs)
        out["scored rows"] = grid_block({"startRow": 0, "endRow": 1})
        print(json.dumps(out))
        return
    from dashboard.figures import anomalies_by_country_figure, anomalies_over_time_figure
    from detection.selectors import anomalies_by_country, anomalies_over_time, require_active_model_version

    version = require_active_model_version()

    out: dict[str, float] = {}
    for period in ("week", "day"):
        out[f"over-time chart per {period}"] = median_ms(
            lambda p=period: anomalies_over_time_figure(anomalies_over_time(period=p, version=version), p), runs
        )
    out["per-country chart"] = median_ms(
        lambda: anomalies_by_country_figure(anomalies_by_country(version=version)), runs
    )
    for name, sort_model in SORTS.items():
        total = grid_block({"startRow": 0, "endRow": 100, "sortModel": sort_model})
        for label, start in (("first page", 0), (f"row {DEEP_ROW:,}", DEEP_ROW), ("last page", total - 100)):
            request = {"startRow": start, "endRow": start + 100, "sortModel": sort_model}
            out[f"grid {name}, {label}"] = median_ms(lambda r=request: grid_block(r), runs)
    for name, filter_model in FILTERS.items():
        total = grid_block({"startRow": 0, "endRow": 100, "filterModel": filter_model})
        for label, start in (("first page", 0), ("last page", max(total - 100, 0))):
            request = {"startRow": start, "endRow": start + 100, "filterModel": filter_model}
            out[f"grid {name}, {label}"] = median_ms(lambda r=request: grid_block(r), runs)
    out.update(filtered_sorts(runs))
    out["scored rows"] = total = grid_block({"startRow": 0, "endRow": 1})
    print(json.dumps(out))


def filtered_sorts(runs: int) -> dict[str, float]:
    """FILTERED_SORTS at the first page, the middle row of their matches and the last page: medians in ms."""
    out = {}
    for name, (sort_model, filter_model) in FILTERED_SORTS.items():
        request = {"sortModel": sort_model, "filterModel": filter_model}
        total = grid_block({**request, "startRow": 0, "endRow": 100})
        middle = total // 2
        for label, start in (("first page", 0), (f"row {middle:,}", middle), ("last page", max(total - 100, 0))):
            page = {**request, "startRow": start, "endRow": start + 100}
            out[f"grid {name} ({total:,} rows), {label}"] = median_ms(lambda r=page: grid_block(r), runs)
    return out


def first_reads(code: Path, runs: int, env: dict[str, str], names: list[str]) -> dict[str, float]:
    """FIRST_READS `names` timed as the first call of `runs` fresh processes each: medians in milliseconds."""
    medians = {}
    for name in names:
        timings = [
            json.loads(run(code, [str(Path(__file__).resolve()), "--first-read", name], env, capture=True).split()[-1])
            for _ in range(runs)
        ]
        row = "" if "row" in name else f", row {FIRST_READS[name][2]:,}"
        medians[f"first read in a fresh process: {name}{row}"] = round(statistics.median(timings), 1)
    return medians


def write_sort_orders(code: Path, env: dict[str, str]) -> float | None:
    """Run `manage.py write_sort_orders` when the code has it; its seconds, else None."""
    if not (code / "detection" / "management" / "commands" / "write_sort_orders.py").is_file():
        return None
    start = time.perf_counter()
    run(code, ["manage.py", "write_sort_orders"], env, capture=True)
    return time.perf_counter() - start


def run(code: Path, arguments: list[str], env: dict[str, str], *, capture: bool = False) -> str:
    """Run `python *arguments` in the project at `code` with `env`; return its output when captured."""
    done = subprocess.run(
        [sys.executable, *arguments], cwd=code, env=env, check=True, capture_output=capture, text=True
    )
    return done.stdout if capture else ""


def sqlite_copy(db: Path, code: Path, folder: Path, env: dict[str, str]) -> str:
    """Copy `db` into `folder`, migrate it with the project at `code`; return its DATABASE_URL."""
    target = folder / "db.sqlite3"
    shutil.copyfile(db, target)
    url = f"sqlite:///{target}"
    run(code, ["manage.py", "migrate", "-v0"], {**env, "DATABASE_URL": url})
    return url


def postgres_copy(sqlite_file: Path, server_url: str, name: str, code: Path, env: dict[str, str]) -> str:
    """Create database `name` on `server_url`, migrate it, fill it from the migrated SQLite copy; return its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    run(code, ["manage.py", "migrate", "-v0"], {**env, "DATABASE_URL": url})
    source = sqlite3.connect(sqlite_file)
    with psycopg.connect(url) as target:
        target.execute("SET TIME ZONE 'UTC'")
        for table in COPIED_TABLES:
            columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
            wanted = {
                row[0]
                for row in target.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table]
                )
            }
            columns = [column for column in columns if column in wanted]
            if not columns or not wanted:
                continue
            target.execute(f"TRUNCATE {table} CASCADE")
            names = ", ".join(columns)
            with target.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {names} FROM {table}"):
                    copy.write_row(row)
            if "id" in columns:
                highest = f"(SELECT coalesce(max(id), 1) FROM {table})"
                target.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {highest})")
        target.execute("UPDATE detection_modelversion SET started_by_id = NULL")
    with psycopg.connect(url, autocommit=True) as vacuum:
        vacuum.execute("VACUUM ANALYZE")
    return url


def start_postgres(folder: Path, port: int) -> str:
    return subprocess.run(
        [str(ROOT / ".ci" / "postgres"), "start", str(folder), str(port)], check=True, capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    parser = real_db_parser(__doc__)
    parser.add_argument("--code", type=Path, default=ROOT, help="the project checkout to run (default: this one)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--postgres-url", help="a server to create the database on (default: a throwaway cluster)")
    parser.add_argument("--postgres-port", type=int, default=54342)
    parser.add_argument(
        "--filtered-only", action="store_true", help="time FILTERED_SORTS and FILTERED_FIRST_READS alone"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first-read", choices=list(FIRST_READS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child or args.first_read:
        sys.path.insert(0, os.getcwd())
        if args.first_read:
            first_read_child(args.first_read)
        else:
            child(args.runs, filtered_only=args.filtered_only)
        return

    folder = scratch_folder(args.db, "dashboard-scale-")
    code = args.code.resolve()
    env = {
        **os.environ,
        "ARTIFACTS_DIR": str(folder / "artifacts"),
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DJANGO_SETTINGS_MODULE": "anomaly_site.settings",
    }
    print(f"code: {code}")
    cluster = None
    server = None
    database_name = f"dashbench_{uuid.uuid4().hex[:8]}"
    try:
        sqlite_url = sqlite_copy(args.db, code, folder, env)
        urls = {"sqlite": sqlite_url}
        if "postgres" in args.databases:
            server = args.postgres_url
            if server is None:
                folder.chmod(0o711)  # as root, the cluster runs as `postgres`, which must reach its folder
                cluster = folder / "pg"
                server = start_postgres(cluster, args.postgres_port)
            urls["postgres"] = postgres_copy(folder / "db.sqlite3", server, database_name, code, env)
        for database in args.databases:
            artifacts = str(folder / f"artifacts-{database}")  # stored orders differ (NULL placement)
            database_env = {**env, "DATABASE_URL": urls[database], "ARTIFACTS_DIR": artifacts}
            seconds = write_sort_orders(code, database_env)
            arguments = [str(Path(__file__).resolve()), "--child", "--runs", str(args.runs)]
            if args.filtered_only:
                arguments.append("--filtered-only")
            output = run(code, arguments, database_env, capture=True)
            figures = json.loads(output.strip().splitlines()[-1])
            names = list(FILTERED_FIRST_READS if args.filtered_only else FIRST_READS)
            figures.update(first_reads(code, args.runs, database_env, names))
            print(f"{database}: {figures.pop('scored rows'):,} scored rows; medians of {args.runs}, empty cache")
            if seconds is not None:
                print(f"  write_sort_orders (the background task after training): {seconds:,.1f} s")
            for name, value in figures.items():
                print(f"  {name}: {value:,.1f} ms")
    finally:
        if server is not None and cluster is None:
            import psycopg

            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        if cluster is not None:
            subprocess.run([str(ROOT / ".ci" / "postgres"), "stop", str(cluster)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
