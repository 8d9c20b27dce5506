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


def train_stages() -> dict[str, float]:
    """Time each training stage on the loaded data, then one whole train_and_activate run."""
    from sklearn.preprocessing import StandardScaler

    from detection.estimators import fit_autoencoder, fit_forest
    from detection.features import build_features, build_reference, model_matrix
    from detection.services import train_and_activate
    from transactions.selectors import transactions_frame

    frame = transactions_frame()
    start = time.perf_counter()
    matrix = model_matrix(build_features(frame, build_reference(frame)))
    features = time.perf_counter() - start
    scaled = StandardScaler().fit_transform(matrix).astype("float32")
    start = time.perf_counter()
    fit_forest(scaled)
    forest = time.perf_counter() - start
    start = time.perf_counter()
    fit_autoencoder(scaled)
    autoencoder = time.perf_counter() - start

    start = time.perf_counter()
    version = train_and_activate()
    total = time.perf_counter() - start
    return {
        "rows": len(frame),
        "features": features,
        "iso_forest_fit_score": forest,
        "autoencoder_fit_score": autoencoder,
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
    print(json.dumps(result))


if __name__ == "__main__":
    main()
