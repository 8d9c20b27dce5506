"""manage.py evaluate_models: planted anomalies, ours against PyOD's peers, and the real data's sanity
figures for the active version; printed and stored in ModelVersion.metrics["evaluation"]
(reviews: evaluate_reviews)."""

from __future__ import annotations

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from detection.selectors import active_model_version
from detection.version_evaluation import evaluate_version, evaluate_with_labels


class Command(BaseCommand):
    help = "Plant varied anomalies among the real rows; rank them with ours and with ECOD, COPOD, IForest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="plant seeds (default 0 1 2)")
        parser.add_argument("--invoices-per-kind", type=int, default=150, help="planted invoices per kind")
        parser.add_argument(
            "--labels",
            action="store_true",
            help="simulated analysts instead: label planted and top-ranked rows, learn, measure on the others",
        )
        parser.add_argument("--fraud-share", type=float, default=0.2, help="--labels: planted invoices confirmed")
        parser.add_argument("--false-positives", type=int, default=200, help="--labels: top rows dismissed")

    def handle(self, *args, seeds: list[int], invoices_per_kind: int, labels: bool, **options) -> None:
        version = active_model_version()
        if version is None:
            raise CommandError("evaluate_models: no active model: run train_models first")
        if labels:
            self.simulated_analysts(
                version, seeds, invoices_per_kind, options["fraud_share"], options["false_positives"]
            )
            return
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
            f"highest week / overall: {sanity['worst_week_ratio']:.2f} ({sanity['worst_week']}); "
            f"counted by invoice: {sanity.get('worst_week_ratio_by_invoice', 0):.2f}"
        )
        self.stdout.write(f"Stored in ModelVersion v{version.pk}.metrics['evaluation'].")

    def simulated_analysts(self, version, seeds, invoices_per_kind, fraud_share, false_positives) -> None:
        evaluation = evaluate_with_labels(
            version,
            seeds=tuple(seeds),
            invoices_per_kind=invoices_per_kind,
            fraud_share=fraud_share,
            false_positives=false_positives,
        )
        table = pd.DataFrame(evaluation["seeds"]).set_index("seed")
        table.index = table.index.astype(int).astype(str)
        table.loc["mean"] = table.mean()
        self.stdout.write(
            f"Model v{version.pk}: simulated analysts confirm {fraud_share:.0%} of the planted invoices and dismiss "
            f"{false_positives} top-ranked real lines; shares above the top-2 % threshold of the real lines not "
            "trained on, measured on the planted lines nobody labelled"
        )
        with pd.option_context("display.width", 250, "display.max_columns", 40):
            self.stdout.write(table.rename(columns=lambda c: c.removeprefix("after_top_")).round(3).T.to_string())
        self.stdout.write(f"Peak RSS {evaluation['peak_rss_mib']:,.0f} MiB.")
        self.stdout.write(f"Stored in ModelVersion v{version.pk}.metrics['label_evaluation'].")
