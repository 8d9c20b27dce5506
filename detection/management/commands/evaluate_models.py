"""manage.py evaluate_models: planted anomalies, ours against PyOD's peers, and the real data's sanity
figures for the active version; printed and stored in ModelVersion.metrics["evaluation"]
(reviews: evaluate_reviews)."""

from __future__ import annotations

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.selectors import active_model_version
from detection.services import evaluate_version


class Command(BaseCommand):
    help = "Plant varied anomalies among the real rows; rank them with ours and with ECOD, COPOD, IForest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="plant seeds (default 0 1 2)")
        parser.add_argument("--invoices-per-kind", type=int, default=150, help="planted invoices per kind")

    def handle(self, *args, seeds: list[int], invoices_per_kind: int, **options) -> None:
        version = active_model_version()
        if version is None:
            raise CommandError("evaluate_models: no active model: run train_models first")
        evaluation = evaluate_version(version, seeds=tuple(seeds), invoices_per_kind=invoices_per_kind)
        table = pd.DataFrame(evaluation["planted"]).T
        self.stdout.write(
            f"Model v{version.pk}: planted anomalies, mean of seeds {seeds} (share = planted lines above the "
            "real sale lines' top-2 % threshold)"
        )
        with pd.option_context("display.width", 250, "display.max_columns", 30):
            self.stdout.write(table.rename(columns=lambda c: c.removeprefix("top_")).round(3).to_string())
        sanity = evaluation["sanity"]
        self.stdout.write(
            "Real data: cancellations / non-product lines in the top 100: "
            f"{sanity['non_sale_top_100']}, in the top 1,000: {sanity['non_sale_top_1000']} "
            f"(flagged by rules: {sanity['non_sale_flagged_by_rules']}); flag rate {sanity['flag_rate']:.2%}; "
            f"highest week / overall: {sanity['worst_week_ratio']:.2f} ({sanity['worst_week']})"
        )
        self.stdout.write(f"Stored in ModelVersion v{version.pk}.metrics['evaluation'].")
