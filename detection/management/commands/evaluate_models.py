"""manage.py evaluate_models: ROC-AUC, precision@k and recall on planted anomalies (reviews: evaluate_reviews)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.evaluation import evaluate_detector
from detection.selectors import active_model_version
from detection.services import scoring_bundle
from transactions.selectors import transactions_frame


class Command(BaseCommand):
    help = "Plant known anomalies into a copy of the data and report how well each model finds them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=1000, help="anomalies to plant (default 1000)")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, count: int, seed: int, **options) -> None:
        version = active_model_version()
        if version is None:
            raise CommandError("evaluate_models: no active model: run train_models first")
        detector, reference = scoring_bundle(version)
        table = evaluate_detector(transactions_frame(), detector, reference, count=count, seed=seed)
        self.stdout.write(f"Model v{version.pk}, {count:,} planted anomalies among {20 * count:,} untouched rows")
        self.stdout.write(table.to_string(float_format=lambda value: f"{value:.3f}"))
