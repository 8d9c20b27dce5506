"""Benchmark: admin changelists of transactions, scores and reviews on a copy of the real database.

    cp /tmp/realdb/db.sqlite3 /tmp/me/ && DATABASE_URL=sqlite:////tmp/me/db.sqlite3 \
        ARTIFACTS_DIR=/tmp/realdb/artifacts python bench/admin.py [--runs 5] [--user admin --password ...]

Runs `migrate` on that database, logs in with Django's test Client and prints, per page, the
median wall time of the runs (after one warm-up request), the query count and the rows listed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ("transactions", "/admin/transactions/transaction/"),
    ("transactions, 2011", "/admin/transactions/transaction/?invoice_date__year=2011"),
    ("transactions, country", "/admin/transactions/transaction/?country=Germany"),
    ("transactions, search", "/admin/transactions/transaction/?q=17841"),
    ("transactions, confirmed", "/admin/transactions/transaction/?review=confirmed_fraud"),
    ("scores", "/admin/detection/transactionscore/"),
    ("scores, flagged", "/admin/detection/transactionscore/?is_flagged__exact=1"),
    ("scores, both models", "/admin/detection/transactionscore/?is_common_anomaly__exact=1"),
    ("scores, RiskScore=1, country", "/admin/detection/transactionscore/?risk_score=1&country=France"),
    ("scores, new reviews", "/admin/detection/transactionscore/?review=new&is_flagged__exact=1"),
    ("scores, 2011-05", "/admin/detection/transactionscore/?invoice_date__year=2011&invoice_date__month=5"),
    ("scores, search", "/admin/detection/transactionscore/?q=17841"),
    ("reviews", "/admin/detection/review/"),
    ("reviews, confirmed, mine", "/admin/detection/review/?status=confirmed_fraud&assigned=me"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="admin-pass-123")
    parser.add_argument(
        "--reviews", type=int, default=2000, help="when the copy has no reviews, close this many flagged rows first"
    )
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to a copy of the real database (never the project's own db.sqlite3).")

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anomaly_site.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.http import HttpRequest
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from detection.models import TransactionScore
    from reviews.models import Review
    from reviews.services import apply_review_change
    from transactions.models import Transaction

    call_command("migrate", verbosity=0)
    client = Client()
    # django-axes needs a request to authenticate against.
    if not client.login(request=HttpRequest(), username=args.user, password=args.password):
        sys.exit(f"cannot log in as {args.user}")
    if args.reviews and not Review.objects.exists():
        user = get_user_model().objects.get(username=args.user)
        flagged = list(
            TransactionScore.objects.filter(model_version__is_active=True, is_flagged=True)
            .order_by("-anomaly_score")
            .values_list("transaction_id", flat=True)[: args.reviews]
        )
        start = time.perf_counter()
        apply_review_change(flagged[::2], actor=user, status=Review.Status.CONFIRMED_FRAUD, analyst=user)
        apply_review_change(flagged[1::2], actor=user, status=Review.Status.FALSE_POSITIVE)
        print(f"closed {len(flagged):,} reviews in {time.perf_counter() - start:.2f} s (two bulk changes)")
    counts = f"{Transaction.objects.count():,} transactions, {TransactionScore.objects.count():,} scores"
    print(f"{counts}, {Review.objects.count():,} reviews; median of {args.runs} runs")
    top = TransactionScore.objects.filter(model_version__is_active=True).order_by("-anomaly_score").first()
    page = f"/admin/transactions/transaction/{top.transaction_id}/change/"
    pages = [*PAGES, ("transaction page (scores, history)", page)]
    print(f"{'page':<34} {'median':>9} {'min':>9} {'queries':>8} {'rows':>5}")
    for name, url in pages:
        response = client.get(url)  # warm-up
        assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - start)
        rows = response.content.count(b'name="_selected_action"')
        print(
            f"{name:<34} {statistics.median(timings) * 1000:>7.0f} ms {min(timings) * 1000:>6.0f} ms "
            f"{len(queries):>8} {rows:>5}"
        )


if __name__ == "__main__":
    main()
