"""Benchmark: the monitoring reads and pages on a copy of a real-data database.

    python bench/monitoring.py [--db /tmp/cases-realdb/db.sqlite3] [--runs 5] [--reviews 3000] [--new-rows 20000]

The copy gets: `--reviews` closed reviews on the active version's highest flagged rows (alternately
confirmed fraud and false positive), a candidate version whose score rows are the active one's with
each anomaly_score multiplied by a random factor in [0.9, 1.1) (one INSERT ... SELECT), and the
active version's `training_rows` lowered by `--new-rows`, so that its last rows count as arrived after
training for the drift. Prints the median wall time of each selector and page. Not a test.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

from _realdb import django_on_a_copy, real_db_parser

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(call, runs: int) -> tuple[float, float]:
    call()  # warm-up
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), min(timings)


def main() -> None:
    parser = real_db_parser(__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reviews", type=int, default=3000)
    parser.add_argument("--new-rows", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top entries of label_metrics")
    args = parser.parse_args()
    folder = django_on_a_copy(args.db, "bench-monitoring-")
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from detection.models import ModelVersion, TransactionScore
    from detection.selectors import active_model_version
    from monitoring.selectors import feature_drift, label_metrics, version_comparison
    from reviews.models import Review
    from reviews.services import apply_review_change

    try:
        call_command("migrate", verbosity=0)
        active = active_model_version()
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass-123456")
        flagged = list(
            TransactionScore.objects.filter(model_version=active, is_flagged=True)
            .order_by("-anomaly_score")
            .values_list("transaction_id", flat=True)[: args.reviews]
        )
        apply_review_change(flagged[::2], actor=user, status=Review.Status.CONFIRMED_FRAUD, analyst=user)
        apply_review_change(flagged[1::2], actor=user, status=Review.Status.FALSE_POSITIVE)

        candidate = ModelVersion.objects.create(
            status=ModelVersion.Status.CANDIDATE, metrics=active.metrics, training_rows=active.training_rows
        )
        columns = [
            f.column for f in TransactionScore._meta.concrete_fields if f.column not in ("id", "model_version_id")
        ]
        chosen = ", ".join(
            "anomaly_score * (0.9 + 0.2 * (abs(random()) %% 1000) / 1000.0)" if c == "anomaly_score" else c
            for c in columns
        )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO detection_transactionscore ({', '.join(columns)}, model_version_id) "
                f"SELECT {chosen}, %s FROM detection_transactionscore WHERE model_version_id = %s",
                [candidate.pk, active.pk],
            )
        print(f"candidate v{candidate.pk}: copied the scores in {time.perf_counter() - started:.1f} s")
        ModelVersion.objects.filter(pk=active.pk).update(training_rows=active.training_rows - args.new_rows)
        active.refresh_from_db()

        rows = TransactionScore.objects.filter(model_version=active).count()
        print(f"v{active.pk}: {rows:,} score rows, {Review.objects.count():,} closed reviews; median of {args.runs}")
        reads = [
            ("label_metrics (2 queries)", lambda: label_metrics(active)),
            ("version_comparison", lambda: version_comparison(active, candidate)),
            ("feature_drift", lambda: feature_drift(active)),
        ]
        client = Client()
        client.force_login(user)
        pages = [
            ("version page (label block)", f"/admin/detection/modelversion/{active.pk}/change/"),
            ("compare page", f"/admin/detection/modelversion/{candidate.pk}/compare/"),
            ("drift page", f"/admin/detection/modelversion/{active.pk}/drift/"),
            ("dashboard page (label metrics cached)", "/"),
        ]
        for name, url in pages:
            reads.append((f"GET {name}", lambda url=url: client.get(url)))
        import dashboard.views

        measured = label_metrics(active)

        def dashboard_without_labels():
            """The dashboard page with its label metrics computed beforehand: the page's cost without them."""
            real, dashboard.views.recent_label_metrics = dashboard.views.recent_label_metrics, lambda version: measured
            try:
                client.get("/")
            finally:
                dashboard.views.recent_label_metrics = real

        reads.append(("GET dashboard, labels precomputed", dashboard_without_labels))
        print(f"{'what':<42} {'median':>9} {'min':>9}")
        for name, call in reads:
            median, fastest = median_seconds(call, args.runs)
            print(f"{name:<42} {median * 1000:>7.0f} ms {fastest * 1000:>6.0f} ms")
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(label_metrics, active)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        drift = feature_drift(active)
        print(f"drift of the last {drift.new_rows:,} sale lines: {drift.band}")
        for row in drift.features:
            print(f"  {row['client_name']:<20} {row['psi']:.4f} {row['band']}")
        result = version_comparison(active, candidate)
        print(
            f"top {result.top['top']:,}: {result.top['entering_count']:,} enter, {result.top['leaving_count']:,} leave"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
