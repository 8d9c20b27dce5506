"""Benchmark: ingest of the real file into a fresh SQLite database, against a bare pandas.read_csv.

    python bench/ingest.py [PATH] [--runs 3]

Prints the median of the runs, the ratio to pandas.read_csv of the same file, peak RSS (of the
ingest process and of the child that plans its chunks), and the machine's load average before and
after (other jobs on a shared machine slow both measures).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _run import run_json

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "ecommerce-data.csv.gz"


def bare_read_seconds(path: Path) -> float:
    start = time.perf_counter()
    pd.read_csv(path, encoding="latin-1", dtype=str, keep_default_na=False)
    return time.perf_counter() - start


def ingest_once(path: Path) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "x" * 50,
        }
        return run_json([str(ROOT / "bench" / "_child.py"), "ingest", str(path)], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", default=str(DEFAULT))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = Path(args.path)
    if not path.is_file():
        sys.exit(f"no data file at {path}: pass the path of data.csv (Kaggle E-Commerce Data)")

    load_before = os.getloadavg()[0]
    bare = statistics.median(bare_read_seconds(path) for _ in range(args.runs))
    runs = [ingest_once(path) for _ in range(args.runs)]
    seconds = [run["seconds"] for run in runs]
    median = statistics.median(seconds)
    print(f"file: {path.name}, rows loaded: {runs[0]['rows_loaded']:,}")
    print(f"pandas.read_csv median of {args.runs}: {bare:.2f} s")
    print(f"ingest (SQLite) runs: {', '.join(f'{s:.2f}' for s in seconds)} s; median {median:.2f} s")
    print(f"ratio ingest / read_csv: {median / bare:.1f}x")
    print(
        f"peak RSS of an ingest process: {max(run['peak_rss_mib'] for run in runs):.0f} MiB; "
        f"of its chunk planner: {max(run['peak_rss_children_mib'] for run in runs):.0f} MiB"
    )
    print(f"load average (1 min) before / after: {load_before:.2f} / {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
