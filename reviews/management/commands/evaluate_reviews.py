"""manage.py evaluate_reviews: each model's precision and recall against analysts' closed reviews."""

from __future__ import annotations

import pandas as pd
from django.core.management.base import BaseCommand, CommandError

from detection.evaluation import precision_against_reviews
from detection.selectors import active_model_version
from reviews.selectors import reviewed_flags


class Command(BaseCommand):
    help = "Report each model's precision (confirmed fraud among the reviewed rows it flagged) and recall."

    def handle(self, *args, **options) -> None:
        version = active_model_version()
        if version is None:
            raise CommandError("evaluate_reviews: no active model: run train_models first")
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
