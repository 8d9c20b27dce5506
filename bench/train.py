"""Benchmark: training on the real data (401,604 clean rows), stage by stage, median of N runs.

    python bench/train.py [--runs 3] [--db /tmp/realdb/db.sqlite3]

Each run is a fresh process on a fresh copy of a database that already holds the ingested real
file (make one with `manage.py ingest_csv`), so peak RSS is the run's own. Prints the median
seconds of: line kinds and point-in-time history features, fitting the detectors (forest and
autoencoder on a sample, tail detector, calibrations), scoring every line (with reasons), writing
scores, and a whole `train_and_activate` (load, features, fits, scoring, artifacts, writes, activation).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _run import run_json

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["history_features", "fit_detectors", "score_all_lines", "write_scores", "total"]


def run_once(database: Path) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "bench.sqlite3"
        shutil.copyfile(database, copy)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{copy}",
            "ARTIFACTS_DIR": f"{folder}/artifacts",
            "DEBUG": "0",
            "SECRET_KEY": "bench-train-not-secret-" + "x" * 50,  # DEBUG off needs 50 characters
        }
        return run_json([str(ROOT / "bench" / "_child.py"), "train", "-"], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", default="/tmp/realdb/db.sqlite3", help="SQLite file with the real data ingested")
    args = parser.parse_args()
    database = Path(args.db)
    if not database.is_file():
        sys.exit(f"no database at {database}: ingest the real file into a SQLite database first")
    runs = [run_once(database) for _ in range(args.runs)]
    print(f"rows: {runs[0]['rows']:,}; cores: {os.cpu_count()}; runs: {args.runs}")
    for stage in STAGES:
        values = [run[stage] for run in runs]
        print(f"{stage:<24} median {statistics.median(values):6.2f} s   ({', '.join(f'{v:.2f}' for v in values)})")
    print(f"{'peak RSS':<24} {max(run['peak_rss_mib'] for run in runs):,.0f} MiB")


if __name__ == "__main__":
    main()
