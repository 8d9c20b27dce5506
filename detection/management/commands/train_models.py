"""manage.py train_models: train both models on the clean data, score every row, activate (or keep as candidate)."""

from __future__ import annotations

import resource
import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.errors import ApplicationError
from detection import selectors
from detection.services import score_new_transactions, train_and_activate
from detection.training_parameters import TrainingParameters


class Command(BaseCommand):
    help = "Engineer features, train the Isolation Forest and the autoencoder, store scores, activate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contamination", type=float, default=0.02)
        parser.add_argument("--epochs", type=int, default=20)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--no-activate",
            action="store_true",
            help="keep the new version as a candidate to compare in the admin; the active version stays",
        )
        parser.add_argument(
            "--if-needed",
            action="store_true",
            help="train only when no model is active; otherwise just score rows that arrived since",
        )

    def handle(
        self, *args, contamination: float, epochs: int, seed: int, no_activate: bool, if_needed: bool, **options
    ) -> None:
        try:
            parameters = TrainingParameters.parse(
                {"contamination": contamination, "epochs": epochs, "seed": seed, "candidate": no_activate}
            )
        except ApplicationError as exc:
            raise CommandError(f"train_models: {'; '.join(f'--{k}: {v[0]}' for k, v in exc.errors.items())}") from exc
        if if_needed and selectors.active_model_version() is not None:
            added = score_new_transactions()
            self.stdout.write(f"An active model exists; scored {added:,} new transactions.")
            return

        bar = tqdm(total=100, desc="train", unit="%", disable=not sys.stderr.isatty() or options["verbosity"] == 0)

        def progress(stage: str, fraction: float) -> None:
            bar.set_description(stage)
            bar.update(round(fraction * 100) - bar.n)

        started = time.perf_counter()
        try:
            version = train_and_activate(**parameters.as_dict(), progress=progress)
        except ApplicationError as exc:
            raise CommandError(f"train_models: {exc}") from exc
        finally:
            bar.close()
        metrics = version.metrics
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows = [
            ("model version", f"v{version.pk} ({version.status})"),
            ("rows scored", f"{metrics['rows']:,}"),
            ("customers", f"{metrics['customers']:,}"),
            ("Isolation Forest flags", f"{metrics['iso_forest_flags']:,} ({metrics['iso_forest_flag_rate']:.2%})"),
            ("autoencoder flags", f"{metrics['autoencoder_flags']:,} ({metrics['autoencoder_flag_rate']:.2%})"),
            ("common anomalies (both)", f"{metrics['common_anomalies']:,}"),
            ("RiskScore = 1", f"{metrics['risk_score_ones']:,}"),
            ("verdicts used", _verdicts(metrics.get("labels", {}))),
            ("duration", f"{time.perf_counter() - started:.1f} s"),
            ("peak memory", f"{peak:,.0f} MiB"),
        ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"{label:<{width}}  {value}")


def _verdicts(labels: dict) -> str:
    used = labels.get("used", {})
    blend = f"blended (weight {labels['blend_weight']})" if labels.get("blended") else "not blended"
    return (
        f"{used.get('confirmed_fraud', 0):,} confirmed fraud, {used.get('false_positive', 0):,} false positive; {blend}"
    )
