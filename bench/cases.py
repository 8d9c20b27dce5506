"""Benchmark: grouping every flagged row of the active model into cases, on a copy of a real-data database.

    python bench/cases.py [--db /tmp/cases-realdb/db.sqlite3] [--runs 3] [--window-days 30]

Build the database once with `manage.py ingest_csv` on the real file and `manage.py train_models`
(DATABASE_URL pointing at it). The copy is grouped from scratch `--runs` times (its cases deleted
in between); prints the alerts, cases and the median wall time. Not a test: it asserts nothing.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

from _realdb import django_on_a_copy, real_db_parser

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = real_db_parser(__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--window-days", type=int, default=30)
    args = parser.parse_args()
    folder = django_on_a_copy(args.db, "bench-cases-")
    from django.core.management import call_command

    from cases.models import Case, CaseEvent, CaseTransaction
    from cases.services import group_alerts_into_cases
    from detection.selectors import active_model_version
    from webhooks.models import Event

    call_command("migrate", verbosity=0)
    version = active_model_version()
    timings, outcome = [], None
    try:
        for _ in range(args.runs):
            CaseTransaction.objects.all().delete()
            CaseEvent.objects.all().delete()
            Case.objects.all().delete()
            Event.objects.all().delete()
            started = time.perf_counter()
            outcome = group_alerts_into_cases(version, window_days_=args.window_days)
            timings.append(time.perf_counter() - started)
        customers = Case.objects.values("customer_id").distinct().count()
        print(
            f"{outcome.alerts:,} flagged rows -> {len(outcome.opened):,} cases of {customers:,} customers "
            f"(window {args.window_days} days): median {statistics.median(timings):.2f} s over {args.runs} runs "
            f"({', '.join(f'{t:.2f}' for t in timings)})"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
