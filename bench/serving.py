"""Benchmark: the model part of scoring, fitted objects (Keras + scikit-learn) against the numpy exports.

    python bench/serving.py [--db /tmp/realdb/db.sqlite3] [--runs 300]

Loads the active version of a real-data database both ways and prints the median milliseconds of
`Detector.score` for 1 and 1,000 rows (the feature matrix of loaded transactions), the largest
difference between the two ways' scores, and the load time of each. Needs a version with its
numpy exports (`manage.py export_serving_arrays`). Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def median_ms(call, runs: int) -> float:
    call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="/tmp/realdb/db.sqlite3")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    os.environ.update(DATABASE_URL=f"sqlite:///{args.db}", DJANGO_SETTINGS_MODULE="anomaly_site.settings")
    import django

    django.setup()
    from detection.estimators import SERVING_ARTIFACTS, Detector
    from detection.fusion import history_matrix
    from detection.history import history_features
    from detection.kinds import line_kinds
    from detection.selectors import require_active_model_version
    from detection.services import scoring_bundle
    from transactions.selectors import transactions_frame

    version = require_active_model_version()
    if not all(name in version.artifacts for name in SERVING_ARTIFACTS):
        sys.exit(f"v{version.pk} has no numpy exports: run manage.py export_serving_arrays first")
    frame = transactions_frame().head(1000)
    features = history_features(frame.assign(kind=line_kinds(frame)), priors=scoring_bundle(version).priors)
    matrix = history_matrix(features)
    fitted_artifacts = {name: record for name, record in version.artifacts.items() if name not in SERVING_ARTIFACTS}

    start = time.perf_counter()
    exported = Detector.load(version.artifacts)
    exported_load = time.perf_counter() - start
    start = time.perf_counter()
    legacy = Detector.load(fitted_artifacts)  # imports TensorFlow, reads joblib and .keras
    fitted_load = time.perf_counter() - start
    import joblib
    import keras

    # The objects as training left them: score_samples and predict_on_batch.
    legacy.scaler = joblib.load(version.artifacts["scaler"]["path"])
    legacy.forest = joblib.load(version.artifacts["forest"]["path"])
    legacy.autoencoder = keras.saving.load_model(version.artifacts["autoencoder"]["path"], compile=False)

    print(f"v{version.pk}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; median ms")
    print(f"load: numpy exports {exported_load * 1000:.0f} ms, fitted objects {fitted_load * 1000:.0f} ms")
    print(f"{'rows':>6} {'keras+sklearn':>14} {'numpy':>8}")
    for rows in (1, 1000):
        part = matrix[:rows]
        runs = args.runs if rows == 1 else max(args.runs // 10, 10)
        print(
            f"{rows:>6} {median_ms(lambda part=part: legacy.score(part), runs):>14.2f} "
            f"{median_ms(lambda part=part: exported.score(part), runs):>8.2f}"
        )
    first, second = legacy.score(matrix), exported.score(matrix)
    print(
        f"largest difference on {len(matrix)} rows: autoencoder MSE "
        f"{np.abs(first.autoencoder_mse - second.autoencoder_mse).max():.2e}, Isolation Forest raw "
        f"{np.abs(first.iso_forest_raw - second.iso_forest_raw).max():.2e}, anomaly_score "
        f"{np.abs(first.anomaly_score - second.anomaly_score).max():.2e}"
    )


if __name__ == "__main__":
    main()
