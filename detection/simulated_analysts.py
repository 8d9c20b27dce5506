"""Evaluation with simulated analysts: does learning from verdicts find more of the anomalies nobody
labelled, and keep dismissed rows out of the queue? Pure pandas/numpy; no ORM (`evaluate_models
--labels` calls it through version_evaluation.evaluate_with_labels).

Per plant seed: plant varied anomalies (evaluation.plant_varied); label `fraud_share` of the planted
invoices (every line of each) as confirmed fraud, and `false_positives` real sale lines drawn from the
unsupervised top `contamination` as false positives; fit the supervised layer on those and a
background sample of other real sale lines (learning.py's recipe), blend, apply the feedback
effects; then measure only on rows that were never trained on: the planted lines of the other
invoices, against a threshold from the real sale lines outside the training set. The false
positives themselves are measured separately (how many stay above that threshold).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .evaluation import plant_varied, planted_features, top_share_report
from .feedback import FEEDBACK_COLUMNS, RAISE_SHARE, Feedback, apply_feedback, evidence_keys, evidence_strength, seconds
from .fusion import FusedDetector, history_matrix
from .supervised import BACKGROUND_ROWS, BLEND_WEIGHT, background_sample, fit_supervised, supervised_inputs


@dataclass
class RealSales:
    """The real sale lines, their history features and unsupervised scores (shared by every seed)."""

    rows: pd.DataFrame  # transactions_frame columns and kind
    features: pd.DataFrame
    scored: pd.DataFrame
    inputs: np.ndarray  # supervised_inputs


def real_sales(rows: pd.DataFrame, features: pd.DataFrame, fused: FusedDetector) -> RealSales:
    """Score the sale lines of `rows` (with kind; `features` = their history_features) unsupervised."""
    sale = (features["kind"] == "sale").to_numpy()
    sale_features = features[sale]
    scored = fused.score(sale_features)
    return RealSales(
        rows[sale],
        sale_features,
        scored,
        supervised_inputs(history_matrix(sale_features, fused.model_features), scored),
    )


def unsupervised(fused: FusedDetector) -> FusedDetector:
    """The detector without anything learnt from verdicts."""
    return replace(fused, supervised=None, feedback=None)


def choose_labels(
    planted: pd.DataFrame, real_surprise: np.ndarray, *, seed: int, fraud_share: float, false_positives: int, top: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return (mask of planted lines labelled confirmed fraud: every line of `fraud_share` of the
    planted invoices; positions of the real lines labelled false positive: `false_positives` drawn
    from the real lines above the top-`top` quantile of `real_surprise`)."""
    rng = np.random.default_rng(10_000 + seed)
    invoices = planted["invoice_no"].unique()
    chosen = rng.choice(invoices, size=round(fraud_share * len(invoices)), replace=False)
    top_positions = np.flatnonzero(real_surprise > np.quantile(real_surprise, 1.0 - top))
    dismissed = np.sort(rng.choice(top_positions, size=min(false_positives, len(top_positions)), replace=False))
    return planted["invoice_no"].isin(chosen).to_numpy(), dismissed


def simulate_seed(
    sales: RealSales,
    rows: pd.DataFrame,
    all_features: pd.DataFrame,
    fused: FusedDetector,
    priors,
    *,
    seed: int,
    invoices_per_kind: int = 150,
    fraud_share: float = 0.2,
    false_positives: int = 200,
    weight: float = BLEND_WEIGHT,
) -> dict:
    """Return one seed's figures (`priors`: the version's HistoryPriors): the share of the unlabelled
    planted lines above the top-2 % threshold before and after learning (and per kind after), the
    share of false-positive lines still above it, the retrain seconds, and the ids trained on and
    measured (for the leakage check)."""
    base = unsupervised(fused)
    share = base.contamination
    planted = plant_varied(rows, all_features, seed=seed, invoices_per_kind=invoices_per_kind)
    planted = planted[(planted["label"] == 1).to_numpy()]
    planted_feats = planted_features(planted, rows, priors=priors)
    return _simulate(
        sales,
        planted,
        planted_feats,
        base,
        seed=seed,
        share=share,
        fraud_share=fraud_share,
        fp=false_positives,
        weight=weight,
    )


def _simulate(
    sales: RealSales,
    planted: pd.DataFrame,
    planted_feats: pd.DataFrame,
    base: FusedDetector,
    *,
    seed: int,
    share: float,
    fraud_share: float,
    fp: int,
    weight: float,
) -> dict:
    planted_scored = base.score(planted_feats)
    planted_inputs = supervised_inputs(history_matrix(planted_feats, base.model_features), planted_scored)
    real_before = sales.scored["fused_surprise"].to_numpy()
    confirmed, dismissed = choose_labels(
        planted, real_before, seed=seed, fraud_share=fraud_share, false_positives=fp, top=share
    )
    measured = ~confirmed

    tick = time.perf_counter()
    candidates = np.setdiff1d(np.arange(len(sales.rows)), dismissed)
    # at most half of the real lines, so that the others set the threshold on small data too
    background = background_sample(candidates, seed=seed, size=min(BACKGROUND_ROWS, len(candidates) // 2))
    labelled = np.vstack([planted_inputs[confirmed], sales.inputs[dismissed]])
    classes = np.r_[np.ones(int(confirmed.sum()), np.int64), np.zeros(len(dismissed), np.int64)]
    layer, raw = fit_supervised(labelled, classes, sales.inputs[background], sales.inputs, seed=seed, weight=weight)
    real_blended = layer.blend(real_before, sales.inputs, raw=raw)
    learnt = replace(base, supervised=layer, fused_threshold=float(np.quantile(real_blended, 1.0 - share)))
    feedback = _feedback(sales, planted, planted_scored, confirmed, dismissed)
    feedback = replace(feedback, raise_floor=float(np.quantile(real_blended, 1.0 - RAISE_SHARE)))
    real_after = _final(learnt, feedback, sales.scored.assign(fused_surprise=real_blended), sales.rows)
    planted_blended = layer.blend(planted_scored["fused_surprise"].to_numpy(), planted_inputs)
    planted_after = _final(learnt, feedback, planted_scored.assign(fused_surprise=planted_blended), planted)
    retrain_seconds = time.perf_counter() - tick

    normal = np.ones(len(sales.rows), bool)
    normal[background] = False
    normal[dismissed] = False
    kinds = planted.loc[measured, "plant_kind"].to_numpy()
    before = top_share_report(real_before[normal], planted_scored["fused_surprise"].to_numpy()[measured], kinds)
    after = top_share_report(real_after[normal], planted_after[measured], kinds)
    blend_only = top_share_report(real_blended[normal], planted_blended[measured], kinds)
    threshold_blend = np.quantile(real_blended[normal], 1.0 - share)
    threshold_after = np.quantile(real_after[normal], 1.0 - share)
    threshold_before = np.quantile(real_before[normal], 1.0 - share)
    return {
        "seed": seed,
        "confirmed_lines": int(confirmed.sum()),
        "false_positive_lines": len(dismissed),
        "measured_planted_lines": int(measured.sum()),
        "top_share_before": before["top_share"],
        "top_share_blend_only": blend_only["top_share"],
        "top_share_after": after["top_share"],
        "gain_points": 100 * (after["top_share"] - before["top_share"]),
        "false_positives_in_top_before": float((real_before[dismissed] > threshold_before).mean()),
        "false_positives_in_top_blend_only": float((real_blended[dismissed] > threshold_blend).mean()),
        "false_positives_in_top_after": float((real_after[dismissed] > threshold_after).mean()),
        "retrain_seconds": retrain_seconds,
        **{f"after_{key}": value for key, value in after.items() if key.startswith("top_") and key != "top_share"},
        "trained_ids": np.r_[
            planted["transaction_id"].to_numpy()[confirmed],
            sales.rows["transaction_id"].to_numpy()[np.r_[dismissed, background]],
        ],
        "measured_ids": np.r_[
            planted["transaction_id"].to_numpy()[measured], sales.rows["transaction_id"].to_numpy()[normal]
        ],
    }


def _feedback(
    sales: RealSales, planted: pd.DataFrame, planted_scored: pd.DataFrame, confirmed: np.ndarray, dismissed: np.ndarray
) -> Feedback:
    """The verdicts of the simulated analysts, given on the day of each line."""
    parts = []
    for lines, scored, label in (
        (planted[confirmed], planted_scored[confirmed], 1),
        (sales.rows.iloc[dismissed], sales.scored.iloc[dismissed], 0),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "transaction_id": lines["transaction_id"].to_numpy(np.int64),
                    "customer_id": lines["customer_id"].to_numpy(np.int64),
                    "seconds": seconds(lines["invoice_date"]),
                    "label": label,
                    "review_id": 0,
                    "closed_seconds": seconds(lines["invoice_date"]),
                    "evidence": evidence_keys(scored),
                    "strength": evidence_strength(scored),
                }
            )
        )
    return Feedback(pd.concat(parts, ignore_index=True)[FEEDBACK_COLUMNS])


def _final(fused: FusedDetector, feedback: Feedback, scored: pd.DataFrame, lines: pd.DataFrame) -> np.ndarray:
    final, _ = apply_feedback(
        scored, lines, feedback, threshold=fused.fused_threshold, sale=np.ones(len(lines), dtype=bool)
    )
    return final["fused_surprise"].to_numpy()
