"""Detection quality of a trained version: planted anomalies ranked by ours and by PyOD's peers on the
same rows, and the real data's sanity figures. Pure pandas/numpy (no ORM); `evaluate_models` calls it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bundle import ScoringBundle
from .evaluation import VARIED_KINDS, plant_varied, planted_features, top_share_report
from .history import history_features
from .kinds import SALE, line_kinds
from .peers import fit_peers

OURS = "ours: fused (tail + forest)"


def planted_table(
    frame: pd.DataFrame,
    bundle: ScoringBundle,
    *,
    seeds: tuple[int, ...] = (0, 1, 2),
    invoices_per_kind: int = 150,
    contamination: float = 0.02,
    peer_inputs: tuple[str, ...] = ("plain", "history"),
) -> pd.DataFrame:
    """Return one row per model (ours, each detector of ours, each peer): ROC-AUC, the share of
    planted lines above the real sale lines' top-`contamination` threshold, and that share per kind
    (mean of `seeds`; plants are drawn anew per seed), the smallest kind's and the smallest seed's
    share, sorted best first."""
    rows = frame.assign(kind=line_kinds(frame))
    features = history_features(rows, priors=bundle.priors)
    sales = features[(features["kind"] == SALE).to_numpy()]
    ours = {OURS: "fused_surprise", "ours: tail detector": "tail_score", "ours: isolation forest": "iso_forest_tail"}
    peers = fit_peers(sales, contamination=contamination, seed=0, inputs=peer_inputs)

    def values(features_: pd.DataFrame) -> dict[str, np.ndarray]:
        scored = bundle.fused.score(features_)
        out = {name: scored[column].to_numpy() for name, column in ours.items()}
        out["ours: isolation forest"] = -out["ours: isolation forest"]  # a tail probability: small = strange
        out.update({peer.label: peer.score(features_) for peer in peers})
        return out

    normal = values(sales)
    reports = []
    for seed in seeds:
        planted = plant_varied(rows, features, seed=seed, invoices_per_kind=invoices_per_kind)
        planted_feats = planted_features(planted, rows, priors=bundle.priors)
        labelled = (planted["label"] == 1).to_numpy()
        kinds = planted.loc[labelled, "plant_kind"].to_numpy()
        scored = values(planted_feats[labelled])
        for name, normal_values in normal.items():
            report = top_share_report(normal_values, scored[name], kinds, share=contamination)
            reports.append({"model": name, "seed": seed, **report})
    per_seed = pd.DataFrame(reports)
    table = per_seed.groupby("model").mean(numeric_only=True).drop(columns="seed")
    table["worst_kind"] = table[[f"top_{kind}" for kind in VARIED_KINDS]].min(axis=1)
    table["worst_seed_share"] = per_seed.groupby("model")["top_share"].min()
    return table.sort_values("top_share", ascending=False)


def sanity_figures(scores: pd.DataFrame) -> dict[str, float | int | str]:
    """Return the review queue's sanity figures from stored scores (kind, anomaly_score, is_flagged,
    invoice_date, optionally invoice_no): cancellations / non-product lines in the top 100 and 1,000 by
    anomaly_score, and those among them flagged with a stated rule; the flag rate; the highest
    calendar week's flag rate divided by the overall rate, and that week; with invoice_no, the same
    ratio counting invoices (an invoice is flagged when any of its lines is), so one large flagged
    invoice counts once."""
    ranked = scores.sort_values(["anomaly_score", "is_flagged"], ascending=False, kind="stable")
    other = (ranked["kind"] != SALE).to_numpy()
    week = scores["invoice_date"].dt.tz_convert("Europe/London").dt.tz_localize(None).dt.to_period("W").astype(str)
    rate = scores["is_flagged"].groupby(week.to_numpy()).mean()
    overall = float(scores["is_flagged"].mean())
    by_invoice = {}
    if "invoice_no" in scores:
        invoices = (
            scores.assign(week=week.to_numpy())
            .groupby("invoice_no")
            .agg(week=("week", "first"), flagged=("is_flagged", "any"))
        )
        invoice_rate = invoices.groupby("week")["flagged"].mean()
        invoice_overall = float(invoices["flagged"].mean())
        by_invoice = {
            "worst_week_ratio_by_invoice": round(float(invoice_rate.max() / invoice_overall), 3)
            if invoice_overall
            else 0.0
        }
    return {
        "non_sale_top_100": int(other[:100].sum()),
        "non_sale_top_1000": int(other[:1000].sum()),
        "non_sale_flagged_by_rules": int((scores["is_flagged"] & (scores["kind"] != SALE)).sum()),
        "flag_rate": round(overall, 5),
        "worst_week_ratio": round(float(rate.max() / overall), 3) if overall else 0.0,
        "worst_week": str(rate.idxmax()) if len(rate) else "",
        **by_invoice,
    }
