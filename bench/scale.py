"""Benchmark: ingest and train+score of 1M, 2M and 5M-row generated files, on SQLite and PostgreSQL.

    python bench/scale.py [--sizes 1000000 2000000 5000000] [--databases sqlite postgres]
                          [--postgres-url postgres://...] [--epochs 20] [--workdir DIR]

10M rows on PostgreSQL: `python bench/scale.py --sizes 10000000 --databases postgres` (the
generated file takes 0.7 GB of disk, the database several GB more).

Each step is a fresh process on a fresh database, so its peak RSS is its own (VmHWM); the JSON lines
also give the highest RSS sampled during each stage the step reports (load, features, fit, ...). Without
--postgres-url a throwaway cluster is started with .ci/postgres on port 54330. Prints one line per
(database, size) and the growth ratios against the smallest size: time ratio / row ratio close to
1.0 means linear cost.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _run import run_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_rss_mib() -> float:
    """This process's own peak RSS in MiB.

    On Linux the VmHWM of /proc/self/status: ru_maxrss of a child started with vfork/exec also
    counts the parent's peak (the parent generating a 5M-row file reached ~4 GiB), so each step's
    figure included the generator's memory. Elsewhere ru_maxrss.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    status = Path("/proc/self/status")
    if not status.is_file():
        return 0.0
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class StagePeaks:
    """The highest RSS seen during each stage a step reports (sampled every 50 ms by a thread)."""

    def __init__(self) -> None:
        self.stage = "start"
        self.peaks: dict[str, float] = {}
        threading.Thread(target=self._sample, daemon=True).start()

    def progress(self, stage: str, *_args) -> None:
        """Note the stage now running; print the one that ended and its peak (stderr, for long runs)."""
        if stage != self.stage:
            ended = self.stage
            print(f"stage {ended} ended: peak {self.peaks.get(ended, 0.0):,.0f} MiB", file=sys.stderr, flush=True)
        self.stage = stage

    def _sample(self) -> None:
        while True:
            stage, rss = self.stage, current_rss_mib()
            self.peaks[stage] = max(self.peaks.get(stage, 0.0), rss)
            time.sleep(0.05)


def child(step: str, path: str, epochs: int) -> None:
    """Run one step in this process against DATABASE_URL and print a JSON line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anomaly_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    result: dict = {}
    if step == "ingest":
        call_command("migrate", verbosity=0)
        from transactions.services import ingest_file

        peaks = StagePeaks()
        start = time.perf_counter()
        outcome = ingest_file(path, progress=peaks.progress)
        result = {"seconds": time.perf_counter() - start, "rows": outcome.batch.rows_loaded}
    elif step == "train":
        from detection.services import train_and_activate

        peaks = StagePeaks()
        start = time.perf_counter()
        version = train_and_activate(epochs=epochs, seed=0, progress=peaks.progress)
        result = {
            "seconds": time.perf_counter() - start,
            "rows": version.training_rows,
            "stages": {k: v for k, v in version.metrics.items() if k.endswith("_seconds") or k == "fit_rows"},
        }
    result["peak_rss_mib"] = peak_rss_mib()
    result["stage_peak_rss_mib"] = {stage: round(rss) for stage, rss in peaks.peaks.items()}
    print(json.dumps(result))


def run_child(step: str, path: Path, env: dict[str, str], epochs: int) -> dict:
    return run_json([__file__, "--child", step, str(path), "--epochs", str(epochs)], env)


def demo_file(workdir: Path, rows: int) -> Path:
    path = workdir / f"scale-{rows}.csv"
    if not path.is_file():
        from transactions.demo_data import write_demo_csv

        start = time.perf_counter()
        write_demo_csv(path, rows, seed=0)
        print(f"generated {path.name} in {time.perf_counter() - start:.1f} s", flush=True)
    return path


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True, capture_output=True)


def measure(database: str, rows: int, path: Path, args, postgres_url: str | None) -> dict:
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "bench-" + "x" * 50, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["ARTIFACTS_DIR"] = str(args.workdir / f"artifacts-{database}-{rows}")
    name = f"scale_{rows}_{uuid.uuid4().hex[:6]}"
    if database == "sqlite":
        db_file = args.workdir / f"{name}.sqlite3"
        env["DATABASE_URL"] = f"sqlite:///{db_file}"
    else:
        psql(postgres_url, f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = with_database(postgres_url, name)
    try:
        ingest = run_child("ingest", path, env, args.epochs)
        train = run_child("train", path, env, args.epochs)
    finally:
        if database == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        else:
            psql(postgres_url, f"DROP DATABASE IF EXISTS {name}")
    return {"database": database, "file_rows": rows, "ingest": ingest, "train": train}


def report(results: list[dict]) -> None:
    print()
    print("database   file rows  loaded    ingest s  peak MiB | scored   train+score s  peak MiB | fit rows")
    for r in results:
        i, t = r["ingest"], r["train"]
        print(
            f"{r['database']:<9} {r['file_rows']:>10,} {i['rows']:>9,} {i['seconds']:>9.1f} {i['peak_rss_mib']:>9,.0f}"
            f" | {t['rows']:>9,} {t['seconds']:>9.1f} {t['peak_rss_mib']:>12,.0f} | {t['stages'].get('fit_rows', 0):,}"
        )
    print()
    print("growth against the smallest size (time ratio / row ratio; 1.00 = linear)")
    for database in sorted({r["database"] for r in results}):
        rows = [r for r in results if r["database"] == database]
        base = rows[0]
        for r in rows[1:]:
            row_ratio = r["ingest"]["rows"] / base["ingest"]["rows"]
            ingest_ratio = r["ingest"]["seconds"] / base["ingest"]["seconds"]
            train_ratio = r["train"]["seconds"] / base["train"]["seconds"]
            memory_ratio = r["train"]["peak_rss_mib"] / base["train"]["peak_rss_mib"]
            print(
                f"{database:<9} {r['file_rows']:>10,}: rows x{row_ratio:.2f}; ingest x{ingest_ratio:.2f} "
                f"({ingest_ratio / row_ratio:.2f}); train+score x{train_ratio:.2f} ({train_ratio / row_ratio:.2f}); "
                f"peak memory x{memory_ratio:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 2_000_000, 5_000_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--postgres-url", default=None, help="a server where databases can be created")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/anomaly-scale-bench"))
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.epochs)
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    postgres_url, cluster = args.postgres_url, None
    if "postgres" in args.databases and not postgres_url:
        cluster = str(args.workdir / "pg")
        postgres_url = subprocess.run(
            [str(ROOT / ".ci" / "postgres"), "start", cluster, "54330"], check=True, capture_output=True, text=True
        ).stdout.strip()
    results = []
    try:
        for rows in sorted(args.sizes):
            path = demo_file(args.workdir, rows)
            for database in args.databases:
                result = measure(database, rows, path, args, postgres_url)
                results.append(result)
                print(json.dumps(result), flush=True)
    finally:
        if cluster:
            subprocess.run([str(ROOT / ".ci" / "postgres"), "stop", cluster], check=False)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    report(results)


if __name__ == "__main__":
    main()
