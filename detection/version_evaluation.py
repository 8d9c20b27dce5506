"""Evaluations of a stored model version on the loaded rows, each kept in its ModelVersion.metrics:
planted anomalies against PyOD's peers with the stored scores' sanity figures (`evaluate_version`)
and learning from simulated analysts' verdicts (`evaluate_with_labels`). `evaluate_models` calls them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.utils import timezone

from transactions.selectors import transactions_frame

from .errors import TrainingError
from .history import history_features
from .kinds import line_kinds
from .models import ModelVersion, TransactionScore
from .services import scoring_bundle


def _stored(version: ModelVersion, key: str, evaluation: dict) -> dict:
    """Keep `evaluation` under `key` in the version's metrics; return it."""
    version.metrics = {**version.metrics, key: evaluation}
    version.save(update_fields=["metrics"])
    return evaluation


def evaluate_version(
    version: ModelVersion, *, seeds: tuple[int, ...] = (0, 1, 2), invoices_per_kind: int = 150
) -> dict:
    """Rank planted anomalies with `version` and PyOD's peers, compute the stored scores' sanity
    figures; store both in `version.metrics["evaluation"]` and return them."""
    from .quality import planted_table, sanity_figures

    frame = transactions_frame()
    table = planted_table(
        frame,
        scoring_bundle(version),
        seeds=seeds,
        invoices_per_kind=invoices_per_kind,
        contamination=float(version.parameters.get("contamination", 0.02)),
    )
    scores = pd.DataFrame.from_records(
        TransactionScore.objects.filter(model_version=version)
        .values_list("kind", "anomaly_score", "is_flagged", "invoice_date", "transaction__invoice_no")
        .iterator(chunk_size=50_000),
        columns=["kind", "anomaly_score", "is_flagged", "invoice_date", "invoice_no"],
    )
    scores["invoice_date"] = pd.to_datetime(scores["invoice_date"], utc=True)
    evaluation = {
        "seeds": list(seeds),
        "planted": {model: {k: round(float(v), 4) for k, v in row.items()} for model, row in table.iterrows()},
        "sanity": sanity_figures(scores),
        "evaluated_at": timezone.now().isoformat(),
    }
    return _stored(version, "evaluation", evaluation)


def evaluate_with_labels(
    version: ModelVersion,
    *,
    seeds: tuple[int, ...] = (0, 1),
    invoices_per_kind: int = 150,
    fraud_share: float = 0.2,
    false_positives: int = 200,
) -> dict:
    """Evaluate learning from simulated analysts' verdicts with `version`'s unsupervised detectors
    (detection.simulated_analysts); store the figures per seed in `version.metrics["label_evaluation"]`
    and return them. Nothing is trained into the version itself."""
    import resource

    from .simulated_analysts import real_sales, simulate_seed, unsupervised

    bundle = scoring_bundle(version)
    rows = transactions_frame()
    rows["kind"] = line_kinds(rows)
    features = history_features(rows, priors=bundle.priors)
    sales = real_sales(rows, features, unsupervised(bundle.fused))
    per_seed = []
    for seed in seeds:  # a few seeds, each vectorised
        figures = simulate_seed(
            sales,
            rows,
            features,
            bundle.fused,
            bundle.priors,
            seed=seed,
            invoices_per_kind=invoices_per_kind,
            fraud_share=fraud_share,
            false_positives=false_positives,
        )
        overlap = np.intersect1d(figures.pop("trained_ids"), figures.pop("measured_ids"))
        if len(overlap):
            raise TrainingError(f"simulated analysts: {len(overlap)} measured rows were trained on")
        per_seed.append({key: round(float(value), 4) for key, value in figures.items()})
    evaluation = {
        "fraud_share": fraud_share,
        "false_positives": false_positives,
        "invoices_per_kind": invoices_per_kind,
        "seeds": per_seed,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "evaluated_at": timezone.now().isoformat(),
    }
    return _stored(version, "label_evaluation", evaluation)
