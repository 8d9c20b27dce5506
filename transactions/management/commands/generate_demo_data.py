"""manage.py generate_demo_data PATH: write a synthetic file in the Kaggle data.csv format."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from transactions.demo_data import write_demo_csv


class Command(BaseCommand):
    help = "Write a synthetic E-Commerce Data CSV with planted anomalies (latin-1, Kaggle columns)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="where to write the CSV (.csv or .csv.gz)")
        parser.add_argument("--rows", type=int, default=20_000, help="approximate number of rows (default 20000)")
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        parser.add_argument("--labels", default=None, help="also write the planted anomalies to this CSV")

    def handle(self, *args, path: str, rows: int, seed: int, labels: str | None, **options) -> None:
        written = write_demo_csv(path, rows, seed=seed, labels_path=labels)
        self.stdout.write(f"{path}: {written:,} rows written (seed {seed}).")
