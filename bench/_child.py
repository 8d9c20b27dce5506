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


def peak_rss_children_mib() -> float:
    """The largest peak of this step's own child processes (ingest plans its chunks in one)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def train_stages() -> dict[str, float]:
    """Time each training stage on the loaded data, then one whole train_and_activate run."""
    from detection.fusion import fit_fused
    from detection.history import fit_priors, history_features
    from detection.kinds import SALE, line_kinds
    from detection.scoring import score_features
    from detection.services import FIT_SAMPLE_ROWS, train_and_activate
    from transactions.selectors import transactions_frame

    frame = transactions_frame()
    start = time.perf_counter()
    frame["kind"] = line_kinds(frame)
    features = history_features(frame, priors=fit_priors(frame))
    history = time.perf_counter() - start
    start = time.perf_counter()
    fused = fit_fused(features[(features["kind"] == SALE).to_numpy()], epochs=20, fit_rows=FIT_SAMPLE_ROWS)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    score_features(frame, features, fused)
    score = time.perf_counter() - start
    del features, fused

    start = time.perf_counter()
    version = train_and_activate()
    total = time.perf_counter() - start
    return {
        "rows": len(frame),
        "history_features": history,
        "fit_detectors": fit,
        "score_all_lines": score,
        "write_scores": version.metrics["write_seconds"],
        "total": total,
    }


def main() -> None:
    step, path = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result: dict[str, float] = {}
    if step == "ingest":
        from transactions.services import ingest_file

        start = time.perf_counter()
        outcome = ingest_file(path)
        result = {"seconds": time.perf_counter() - start, "rows_loaded": outcome.batch.rows_loaded}
    elif step == "train":
        result = train_stages()
    result["peak_rss_mib"] = peak_rss_mib()
    result["peak_rss_children_mib"] = peak_rss_children_mib()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
