"""manage.py ingest_csv PATH: load the Kaggle E-Commerce Data CSV (or .csv.gz)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from transactions.services import IngestAccountingError, IngestOutcome, SourceError, ingest_file


class Command(BaseCommand):
    help = "Clean and load an E-Commerce Data CSV (latin-1, plain or gzip) into the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV or CSV.gz file in the Kaggle data.csv format")
        parser.add_argument("--encoding", default="latin-1", help="source encoding (default: latin-1)")
        parser.add_argument("--force", action="store_true", help="read the file even if it was ingested before")

    def handle(self, *args, path: str, encoding: str, force: bool, **options) -> None:
        bars: dict[str, tqdm] = {}
        show = sys.stderr.isatty() and options["verbosity"] > 0

        def progress(stage: str, done: int, total: int) -> None:
            if not show:
                return
            bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, unit="row"))
            bar.update(done)

        try:
            outcome = ingest_file(path, encoding=encoding, force=force, progress=progress)
        except (SourceError, IngestAccountingError) as exc:
            raise CommandError(f"ingest_csv: {exc}") from exc
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write(summary_line(outcome, path))


def summary_line(outcome: IngestOutcome, path: str) -> str:
    """Return the one-paragraph report of an ingest."""
    batch = outcome.batch
    if outcome.already_ingested:
        return (
            f"{path}: already ingested as batch #{batch.pk} on {timezone.localtime(batch.finished_at):%Y-%m-%d %H:%M}; "
            "0 rows added (use --force to read it again)."
        )
    return (
        f"{path}: batch #{batch.pk} {batch.status}: {batch.rows_read:,} rows read, "
        f"{batch.rows_loaded:,} loaded ({batch.rows_without_customer:,} without CustomerID, kept but not scored), "
        f"{batch.rows_duplicate:,} exact duplicates dropped, {batch.rows_existing:,} already loaded, "
        f"{batch.rows_quarantined:,} quarantined."
    )
