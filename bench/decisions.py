"""Benchmark: the decision layer on a generated database the size of the real file's scored rows.

    python bench/decisions.py [--rows 401604] [--workdir /tmp/bench-decisions] [--runs 200]

Builds (once; reused from --workdir) a SQLite database from a generated file of about --rows scored
transactions: ingest, train (2 epochs), label 2,000 rows as reviewed. Then publishes a policy of
50 rules (comparisons, nested any/all, list membership) and prints:
- re-deciding every stored row (pandas + bulk writes), median of 3;
- backtesting one rule (the admin's "would have matched N past rows") and the whole 50-rule policy;
- the threshold view's queries, median of 20;
- POST /api/score of one row, p50/p95 over --runs requests, with no rule and with the 50 rules.
Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        ARTIFACTS_DIR=str(workdir / "artifacts"),
        DEBUG="0",
        SECRET_KEY="bench-decisions-not-secret-" + "x" * 50,  # DEBUG off needs 50 characters
        ALLOWED_HOSTS="testserver",
        API_USER_RATE="1000000/min",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        LOG_LEVEL="ERROR",
        TF_CPP_MIN_LOG_LEVEL="2",
        DJANGO_SETTINGS_MODULE="anomaly_site.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(workdir: Path, rows: int) -> None:
    """Ingest a generated file and train, unless the database already has an active model."""
    from detection.models import ModelVersion

    if ModelVersion.objects.filter(is_active=True).exists():
        return
    from detection.services import train_and_activate
    from transactions.demo_data import generate_demo_frame
    from transactions.services import ingest_file

    start = time.perf_counter()
    frame, _ = generate_demo_frame(rows, seed=11, missing_customer_rate=0.0)
    path = workdir / "generated.csv"
    frame.to_csv(path, index=False, encoding="latin-1", lineterminator="\n")
    ingest_file(path)
    train_and_activate(epochs=2, seed=0)
    label_reviews()
    print(f"built the database in {time.perf_counter() - start:.0f} s")


def label_reviews() -> None:
    """Mark 1,000 high-scoring and 1,000 random rows as confirmed fraud or false positive."""
    from detection.models import TransactionScore
    from reviews.models import Review

    rng = np.random.default_rng(0)
    scores = TransactionScore.objects.filter(model_version__is_active=True)
    top = list(scores.order_by("-anomaly_score").values_list("transaction_id", flat=True)[:1000])
    ids = np.array(scores.values_list("transaction_id", flat=True))
    sample = set(rng.choice(ids, 1000, replace=False).tolist()) - set(top)
    statuses = {tid: ("confirmed_fraud" if rng.random() < 0.4 else "false_positive") for tid in top}
    statuses.update({tid: ("confirmed_fraud" if rng.random() < 0.02 else "false_positive") for tid in sample})
    Review.objects.bulk_create(Review(transaction_id=tid, status=status) for tid, status in statuses.items())


def fifty_rules_policy():
    """A published policy of 50 rules over several fields and three lists."""
    from decisions import services
    from decisions.models import ValueList
    from detection.models import TransactionScore

    scores = TransactionScore.objects.filter(model_version__is_active=True)
    customers = list(scores.values_list("customer_id", flat=True).distinct()[:400])
    if not ValueList.objects.filter(name="bench watched").exists():
        watched = services.create_list(name="bench watched", kind="customer_id", user=None)
        services.add_list_entries(value_list=watched, values=customers[:300], user=None)
        trusted = services.create_list(name="bench trusted", kind="customer_id", user=None)
        services.add_list_entries(value_list=trusted, values=customers[300:320], user=None)
        countries = services.create_list(name="bench countries", kind="country", user=None)
        services.add_list_entries(value_list=countries, values=["Nigeria", "Brazil", "EIRE", "France"], user=None)
    draft = services.create_draft(user=None, name="bench: 50 rules")
    services.save_rule(
        policy=draft,
        data={
            "name": "trusted",
            "action": "approve",
            "condition": {"any": [{"field": "customer_id", "op": "in_list", "value": "bench trusted"}]},
        },
        user=None,
    )
    for i in range(49):
        action = ("block", "review")[i % 2]
        condition = {
            "all": [
                {"field": "anomaly_score", "op": "gte", "value": 0.9 + i / 1000},
                {
                    "any": [
                        {"field": "total_spent", "op": "gt", "value": 200 + 10 * i},
                        {"field": "country", "op": "in_list", "value": "bench countries"},
                        {"field": "customer_id", "op": "in_list", "value": "bench watched"},
                        {
                            "all": [
                                {"field": "quantity", "op": "lt", "value": 0},
                                {"field": "transaction_hour", "op": "in", "value": [0, 1, 2, 3, 4, 5]},
                            ]
                        },
                    ]
                },
            ]
        }
        services.save_rule(
            policy=draft, data={"name": f"rule {i}", "action": action, "condition": condition}, user=None
        )
    services.publish_policy(policy=draft, user=None, redecide=False)
    return draft


def timed(function, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def score_latency(runs: int, *, new: bool = False) -> tuple[float, float, float]:
    """p50 and p95 ms and median CPU ms of POST /api/score with one row: a stored row's copy on its own
    date, or with `new`, dated the day after the latest stored row (as a new transaction is)."""
    from django.contrib.auth.models import Group, User
    from django.db.models import Max
    from rest_framework.test import APIClient

    from detection.models import TransactionScore
    from transactions.models import Transaction
    from transactions.selectors import source_row

    user = User.objects.filter(username="bench").first() or User.objects.create_user("bench")
    user.groups.add(Group.objects.get(name="Analyst"))  # scoring needs the analysts' view permission
    client = APIClient()
    client.force_authenticate(user)
    score = TransactionScore.objects.filter(model_version__is_active=True).select_related("transaction").first()
    row = {**source_row(score.transaction), "InvoiceNo": "T1"}
    if new:
        day = Transaction.objects.aggregate(last=Max("invoice_date"))["last"] + timedelta(days=1)
        row["InvoiceDate"] = f"{day.month}/{day.day}/{day.year} " + row["InvoiceDate"].split(" ")[1]
    body = {"rows": [row]}
    for _ in range(10):  # loads the model, warms caches
        assert client.post("/api/score", body, format="json").status_code == 200
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.post("/api/score", body, format="json")
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert response.status_code == 200
    p50, p95 = (float(np.percentile(times, q)) * 1000 for q in (50, 95))
    return p50, p95, float(np.median(cpu)) * 1000


def decide_one_row(runs: int) -> tuple[float, int]:
    """Median ms of deciding one scored row under the published policy (the part /api/score adds), and its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from decisions import conditions, selectors
    from detection.selectors import require_active_model_version, scores_for

    frame = next(
        selectors.score_frames(scores_for(require_active_model_version()), list(conditions.FIELD_KINDS), chunk_size=1)
    )
    selectors.decide_rows(frame)
    with CaptureQueriesContext(connection) as queries:
        selectors.decide_rows(frame)
    seconds, _ = timed(lambda: selectors.decide_rows(frame), runs)
    return seconds * 1000, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=401_604)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-decisions"))
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    setup(args.workdir)
    build(args.workdir, args.rows)

    from decisions import selectors, services
    from decisions.models import Policy
    from detection.selectors import require_active_model_version, scores_for

    version = require_active_model_version()
    rows = scores_for(version).count()
    print(f"database: generated ({rows:,} scored rows, SQLite, {args.workdir})")

    # /api/score without rules first (thresholds only), then with the 50 rules
    plain = services.create_draft(user=None, name="bench: thresholds only", based_on=Policy.objects.order_by("id")[0])
    plain.rules.all().delete()
    services.publish_policy(policy=plain, user=None, redecide=False)
    p50_plain, p95_plain, cpu_plain = score_latency(args.runs)
    policy = fifty_rules_policy()
    p50_rules, p95_rules, cpu_rules = score_latency(args.runs)
    p50_new, p95_new, cpu_new = score_latency(args.runs, new=True)
    decide_ms, decide_queries = decide_one_row(args.runs)

    seconds, written = timed(lambda: services.redecide_version(), 3)
    print(f"re-decide all stored rows (50 rules): median {seconds:.2f} s for {written:,} rows")

    one_rule = policy.rules.get(name="rule 0").condition
    seconds, matched = timed(lambda: selectors.rule_matches(one_rule), 5)
    print(f"backtest one rule (would have matched N past rows): median {seconds * 1000:.0f} ms, N = {matched:,}")
    seconds, figures = timed(lambda: selectors.backtest(policy), 3)
    print(
        f"backtest the 50-rule policy (matches, decisions, alerts per day, verdicts): median {seconds:.2f} s; "
        f"decisions {figures['decisions']}, {figures['alerts_per_day']} alerts per day"
    )
    seconds, view = timed(lambda: selectors.threshold_view(review_at=65, block_at=75), 20)
    print(
        f"threshold view (65 / 75): median {seconds * 1000:.0f} ms; {view['alerts_per_day']} alerts per day, "
        f"fraud caught {view['fraud_caught']}/{view['labelled_fraud']}, false positives {view['false_positives']}"
    )
    seconds, _ = timed(lambda: selectors.threshold_view(review_at=90, block_at=95), 20)
    print(f"threshold view (90 / 95): median {seconds * 1000:.0f} ms")
    print(
        f"/api/score, 1 row, thresholds only: p50 {p50_plain:.1f} ms, p95 {p95_plain:.1f} ms, "
        f"CPU {cpu_plain:.1f} ms ({args.runs} runs)"
    )
    print(
        f"/api/score, 1 row, 50 rules:        p50 {p50_rules:.1f} ms, p95 {p95_rules:.1f} ms, "
        f"CPU {cpu_rules:.1f} ms ({args.runs} runs)"
    )
    print(
        f"/api/score, 1 new row, 50 rules:  p50 {p50_new:.1f} ms, p95 {p95_new:.1f} ms, "
        f"CPU {cpu_new:.1f} ms ({args.runs} runs; dated the day after the latest stored row)"
    )
    print(f"deciding that row under the 50 rules: median {decide_ms:.2f} ms, {decide_queries} query")
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
