"""What the benchmarks on a copy of a real-data database share: the --db option and the scratch folder."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REAL_DB = Path("/tmp/cases-realdb/db.sqlite3")


def real_db_parser(description: str | None) -> argparse.ArgumentParser:
    """An argument parser with `--db`: the SQLite file with the real data ingested and a model trained."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", type=Path, default=REAL_DB)
    return parser


def scratch_folder(db: Path, prefix: str) -> Path:
    """A new temporary folder for the run; exits with a hint when `db` does not exist."""
    if not db.is_file():
        sys.exit(f"{db} does not exist: ingest the real file and train into it first (see the docstring).")
    return Path(tempfile.mkdtemp(prefix=prefix))


def django_on_a_copy(db: Path, prefix: str) -> Path:
    """Copy `db` into a new scratch folder, point Django at the copy and set it up; return the folder."""
    import os
    import shutil

    folder = scratch_folder(db, prefix)
    copy = folder / "db.sqlite3"
    shutil.copyfile(db, copy)
    os.environ.update(
        DATABASE_URL=f"sqlite:///{copy}", DJANGO_SETTINGS_MODULE="anomaly_site.settings", LOG_LEVEL="ERROR"
    )
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import django

    django.setup()
    return folder


# The real file's last day is 9 Dec 2011: a row dated the day after is a new transaction for a model
# trained on it (scored from the history state), as live traffic is.
DAY_AFTER_THE_DATA = "12/10/2011"


def dated_after_the_data(rows: list[dict]) -> list[dict]:
    """Source rows (the file's columns) moved to the day after the real file's last day, same time of day."""
    return [{**row, "InvoiceDate": f"{DAY_AFTER_THE_DATA} {row['InvoiceDate'].split(' ')[1]}"} for row in rows]
