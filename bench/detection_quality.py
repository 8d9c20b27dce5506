"""Benchmark: detection quality on the real file, ours against PyOD peers, plus real-data sanity.

    python bench/detection_quality.py [--data /work/shared/data/ecommerce-data.csv.gz]
        [--seeds 0 1 2] [--invoices-per-kind 150] [--epochs 10] [--cache /tmp/clean.pkl]

Loads and cleans the file the way ingest does (transactions.source + transactions.cleaning, rows
without a CustomerID dropped: 401,604 rows), classifies lines (detection.kinds), builds the
point-in-time history features (detection.history), fits our detectors on the sale lines
(Isolation Forest + Keras autoencoder through detection.estimators, the tail detector, the fused
score: detection.fusion) and PyOD's ECOD, COPOD and IForest on the same rows (detection.peers),
then plants varied anomalies (detection.evaluation.plant_varied) with several seeds and prints,
per model: ROC-AUC, the share of planted lines in the top 2 % and that share per kind; then the
real-data sanity figures, timings and peak RSS. No database.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from detection.evaluation import VARIED_KINDS, plant_varied, planted_features, top_share_report  # noqa: E402
from detection.fusion import fit_fused  # noqa: E402
from detection.history import fit_priors, history_features  # noqa: E402
from detection.kinds import SALE, line_kinds, link_cancellations  # noqa: E402
from detection.peers import fit_peers  # noqa: E402
from detection.reasons import reasons  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/ecommerce-data.csv.gz")
SHARE = 0.02


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_clean(path: Path, cache: Path | None) -> pd.DataFrame:
    """Return the cleaned rows with a CustomerID, in the pure modules' column shape."""
    if cache and cache.is_file():
        return pd.read_pickle(cache)
    from transactions.cleaning import clean_rows
    from transactions.source import read_source

    result = clean_rows(read_source(path).rows)
    rows = result.rows[result.rows["customer_id"].notna()].copy()
    rows["customer_id"] = rows["customer_id"].astype(np.int64)
    rows["invoice_date"] = rows["invoice_date"].dt.tz_convert("UTC")
    rows["transaction_id"] = rows["line_number"]
    rows = rows.reset_index(drop=True)
    if cache:
        rows.to_pickle(cache)
    return rows


def weekly_ratio(flags: np.ndarray, dates: pd.Series, invoices: pd.Series | None = None) -> tuple[float, str]:
    """Return the highest calendar-week flag rate / the overall rate, and that week."""
    week = dates.dt.tz_convert("Europe/London").dt.tz_localize(None).dt.to_period("W").astype(str).to_numpy()
    frame = pd.DataFrame({"week": week, "flag": flags})
    if invoices is not None:
        frame = (
            frame.assign(invoice=invoices.to_numpy())
            .groupby("invoice")
            .agg(week=("week", "first"), flag=("flag", "any"))
        )
    rate = frame.groupby("week")["flag"].mean()
    return float(rate.max() / frame["flag"].mean()), str(rate.idxmax())


# Our detectors: the label each is reported under, and its column in the fused model's scores.
OURS = {
    "ours: fused (tail + forest)": "fused_surprise",
    "ours: tail detector": "tail_score",
    "ours: isolation forest": "iso_forest_tail",
    "ours: autoencoder": "autoencoder_mse",
}


def compared_scores(scores: pd.DataFrame, features: pd.DataFrame, peers: list) -> dict[str, np.ndarray]:
    """Each compared model's scores of the rows, keyed by its label; higher is more anomalous for all."""
    values = {name: scores[column].to_numpy() for name, column in OURS.items()}
    values["ours: isolation forest"] = -values["ours: isolation forest"]
    values["seed fusion: mean rank (forest, autoencoder)"] = (
        scores["iso_forest_score"].to_numpy() + scores["autoencoder_score"].to_numpy()
    ) / 2
    for peer in peers:
        values[peer.label] = peer.score(features)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--invoices-per-kind", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cache", type=Path, default=None, help="pickle of the cleaned frame (outside the repo)")
    args = parser.parse_args()
    timings: dict[str, float] = {}

    tick = time.perf_counter()
    rows = load_clean(args.data, args.cache)
    timings["load + clean"] = time.perf_counter() - tick
    print(f"rows: {len(rows):,}")

    # --- train + score: everything the pipeline does with the real file -----------------------------
    started = tick = time.perf_counter()
    cpu_started = time.process_time()
    rows["kind"] = line_kinds(rows)
    links = link_cancellations(rows)
    timings["kinds + cancellation links"] = time.perf_counter() - tick
    tick = time.perf_counter()
    priors = fit_priors(rows)
    features = history_features(rows, priors=priors)
    timings["history features"] = time.perf_counter() - tick
    sale = (features["kind"] == SALE).to_numpy()
    sales = features[sale]
    tick = time.perf_counter()
    fused = fit_fused(sales, contamination=SHARE, epochs=args.epochs, seed=0)
    timings["fit (forest, autoencoder, tail, calibration)"] = time.perf_counter() - tick
    tick = time.perf_counter()
    scores = fused.score(features)  # every line, so the sanity check can show the mixed ranking too
    timings["score all lines"] = time.perf_counter() - tick
    timings["train + score total"] = time.perf_counter() - started
    timings["train + score CPU time (all threads; / 2 cores = wall time on an idle machine)"] = (
        time.process_time() - cpu_started
    )
    train_rss = peak_rss_mib()
    print(
        f"kinds: {dict(rows['kind'].value_counts())}; cancellations linked to their sale: "
        f"{int(links['matched'].sum()):,} of {len(links):,}"
    )

    tick = time.perf_counter()
    peers = fit_peers(sales, contamination=SHARE, seed=0)
    timings["fit PyOD peers (6)"] = time.perf_counter() - tick

    # --- planted anomalies ---------------------------------------------------------------------------
    sale_scores = scores[sale]
    normal = compared_scores(sale_scores, sales, peers)

    reports = []
    tick = time.perf_counter()
    for seed in args.seeds:
        planted = plant_varied(rows, features, seed=seed, invoices_per_kind=args.invoices_per_kind)
        planted_feats = planted_features(planted, rows, priors=priors)  # a burst's first copy is history
        labelled = (planted["label"] == 1).to_numpy()
        planted, planted_feats = planted[labelled], planted_feats[labelled]
        planted_scores = fused.score(planted_feats)
        kinds = planted["plant_kind"].to_numpy()
        values = compared_scores(planted_scores, planted_feats, peers)
        for name in normal:
            reports.append({"model": name, "seed": seed, **top_share_report(normal[name], values[name], kinds)})
        print(f"seed {seed}: {len(planted):,} planted lines ({dict(pd.Series(kinds).value_counts())})")
    timings["plants: features + scoring (all seeds)"] = time.perf_counter() - tick

    table = pd.DataFrame(reports)
    mean = table.groupby("model").mean(numeric_only=True).drop(columns="seed")
    worst = table.groupby("model").min(numeric_only=True).drop(columns="seed")
    mean["worst_kind"] = mean[[f"top_{kind}" for kind in VARIED_KINDS]].min(axis=1)
    mean["worst_seed_top"] = worst["top_share"]
    mean = mean.sort_values("top_share", ascending=False)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    print(f"\nPlanted anomalies, mean of seeds {args.seeds} (top = above the real sale lines' top-2 % threshold):")
    print(mean.rename(columns=lambda c: c.removeprefix("top_")).round(3).to_string())

    # --- real-data sanity ----------------------------------------------------------------------------
    print("\nReal file sanity:")
    queue = scores[sale].sort_values("fused_surprise", ascending=False)
    mixed = scores.sort_values("fused_surprise", ascending=False)
    for label, ranking in (("sales-scored queue", queue), ("every line scored alike (before the split)", mixed)):
        kinds_top = features.loc[ranking.index, "kind"].to_numpy()
        print(
            f"  {label}: cancellations/non-product in top 100: {int((kinds_top[:100] != SALE).sum())}, "
            f"in top 1,000: {int((kinds_top[:1000] != SALE).sum())}"
        )
    dates = rows.loc[sale, "invoice_date"]
    invoices = rows.loc[sale, "invoice_no"]
    for label, column in (
        ("fused", "is_flagged"),
        ("isolation forest", "iso_forest_flag"),
        ("autoencoder", "autoencoder_flag"),
        ("tail detector", "tail_flag"),
    ):
        flags = sale_scores[column].to_numpy()
        ratio, week = weekly_ratio(flags, dates)
        by_invoice, invoice_week = weekly_ratio(flags, dates, invoices)
        print(
            f"  {label}: flag rate {flags.mean():.2%}; highest week / overall: lines {ratio:.2f} ({week}), "
            f"invoices {by_invoice:.2f} ({invoice_week})"
        )
    last_week = (dates >= pd.Timestamp("2011-12-05", tz="Europe/London")).to_numpy()
    print(f"  fused flag rate 5-9 Dec 2011: {sale_scores['is_flagged'].to_numpy()[last_week].mean():.2%}")
    print(f"  RiskScore = 1 on {sale_scores['risk_score'].mean():.1%} of sale lines (the seed's rule, unchanged)")

    top = queue.index[:5]
    positions = features.index.get_indexer(top)
    print("\nTop of the queue, with reasons:")
    for position, items in zip(positions, reasons(features, scores, positions), strict=True):
        row = rows.iloc[position]
        print(f"  {row['invoice_no']} {row['stock_code']} x{row['quantity']} @ {row['unit_price']} ({row['country']}):")
        for item in items:
            print(f"      - {item['text']}")

    print("\nTimings (s):")
    for name, seconds in timings.items():
        print(f"  {name}: {seconds:.1f}")
    for peer in peers:
        print(f"  fit {peer.label}: {peer.fit_seconds:.1f}")
    print(
        f"peak RSS: after train + score {train_rss:,.0f} MiB; "
        f"whole run (with peers and plants) {peak_rss_mib():,.0f} MiB"
    )


if __name__ == "__main__":
    main()
