"""manage.py evaluate_models: ROC-AUC, precision@k and recall on planted anomalies; precision against reviews."""

from __future__ import annotations

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.evaluation import evaluate_detector, precision_against_reviews
from detection.selectors import active_model_version, reviewed_flags
from detection.services import scoring_bundle
from transactions.selectors import transactions_frame


class Command(BaseCommand):
    help = (
        "Plant known anomalies into a copy of the data and report how well each model finds them; "
        "when analysts have closed reviews, also each model's precision against their labels."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=1000, help="anomalies to plant (default 1000)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--reviews-only", action="store_true", help="skip the planted anomalies")

    def handle(self, *args, count: int, seed: int, reviews_only: bool, **options) -> None:
        version = active_model_version()
        if version is None:
            raise CommandError("evaluate_models: no active model: run train_models first")
        if not reviews_only:
            detector, reference = scoring_bundle(version)
            table = evaluate_detector(transactions_frame(), detector, reference, count=count, seed=seed)
            self.stdout.write(f"Model v{version.pk}, {count:,} planted anomalies among {20 * count:,} untouched rows")
            self.stdout.write(table.to_string(float_format=lambda value: f"{value:.3f}"))
        self.write_review_precision(version)

    def write_review_precision(self, version) -> None:
        reviewed = pd.DataFrame(reviewed_flags(version))
        if reviewed.empty:
            self.stdout.write("No closed reviews yet: precision against analysts' labels needs confirmed or dismissed.")
            return
        confirmed = int(reviewed["confirmed"].sum())
        self.stdout.write(
            f"Model v{version.pk} against {len(reviewed):,} reviewed rows "
            f"({confirmed:,} confirmed fraud, {len(reviewed) - confirmed:,} false positive)"
        )
        table = precision_against_reviews(reviewed)
        self.stdout.write(table.to_string(float_format=lambda value: f"{value:.3f}", na_rep="-"))
