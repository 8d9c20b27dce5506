"""Run one benchmark step in a fresh process with its own database; print a JSON line.

Used by the bench scripts so that peak RSS is the step's own. Not a test.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anomaly_site.settings")
    import django

    django.setup()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    step, path = sys.argv[1], sys.argv[2]
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result: dict[str, float] = {}
    if step == "ingest":
        from transactions.services import ingest_file

        start = time.perf_counter()
        outcome = ingest_file(path)
        result = {"seconds": time.perf_counter() - start, "rows_loaded": outcome.batch.rows_loaded}
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
