"""The numpy exports of a trained version: same scores as Keras and scikit-learn, no TensorFlow to serve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from detection import services, serving
from detection.errors import ArtifactError
from detection.estimators import SERVING_ARTIFACTS, Detector, file_sha256
from detection.fusion import history_matrix
from detection.history import history_features
from detection.kinds import line_kinds
from detection.models import ModelVersion
from transactions.selectors import source_row, transactions_frame

ROOT = Path(__file__).resolve().parents[2]


def feature_matrix(version: ModelVersion) -> np.ndarray:
    """The model input of every loaded transaction (point-in-time history, `version`'s priors)."""
    services.load_scoring_bundle.cache_clear()
    priors = services.scoring_bundle(version).priors
    frame = transactions_frame()
    return history_matrix(history_features(frame.assign(kind=line_kinds(frame)), priors=priors))


def test_numpy_reconstruction_error_matches_keras(trained_version: ModelVersion) -> None:
    import keras

    artifacts = trained_version.artifacts
    model = keras.saving.load_model(artifacts["autoencoder"]["path"], compile=False)
    fitted_scaler = joblib.load(artifacts["scaler"]["path"])
    scaler, autoencoder = serving.load_autoencoder(Path(artifacts["autoencoder_arrays"]["path"]))
    matrix = feature_matrix(trained_version)

    scaled = fitted_scaler.transform(matrix).astype(np.float32)
    assert np.array_equal(scaler.transform(matrix).astype(np.float32), scaled)
    keras_mse = ((scaled - np.asarray(model.predict_on_batch(scaled))) ** 2).mean(axis=1)
    numpy_mse = ((scaled - autoencoder.reconstruct(scaled)) ** 2).mean(axis=1)

    assert len(matrix) > 2000 and matrix.shape[1] == len(trained_version.features)
    assert np.abs(numpy_mse - keras_mse).max() < 1e-5
    assert np.abs(numpy_mse - keras_mse).max() / keras_mse.mean() < 1e-4


def test_exported_forest_scores_like_scikit_learn(trained_version: ModelVersion) -> None:
    artifacts = trained_version.artifacts
    fitted = joblib.load(artifacts["forest"]["path"])
    forest = serving.load_forest(Path(artifacts["forest_arrays"]["path"]))
    scaled = serving.load_autoencoder(Path(artifacts["autoencoder_arrays"]["path"]))[0].transform(
        feature_matrix(trained_version)
    )
    rows = np.vstack([scaled, scaled[:50] * 40, -scaled[:50] * 40]).astype(np.float32)

    assert np.abs(forest.score_samples(rows) - fitted.score_samples(rows)).max() < 1e-9
    assert np.abs(forest.score_samples(rows[:1]) - fitted.score_samples(rows[:1])).max() < 1e-9


def test_exported_forest_maps_subsampled_columns_and_missing_values() -> None:
    rng = np.random.default_rng(3)
    training = rng.normal(size=(2000, 6)).astype(np.float32)
    training[:, 2] *= 10
    fitted = IsolationForest(n_estimators=40, max_features=0.5, max_samples=300, random_state=1).fit(training)
    rows = np.vstack([rng.normal(size=(500, 6)) * 3, training[:200]]).astype(np.float32)
    rows[::7, 1] = np.nan

    exported = serving.export_forest(fitted)

    assert np.abs(exported.score_samples(rows) - fitted.score_samples(rows)).max() < 1e-9


def test_training_records_the_exports_with_their_sha256(trained_version: ModelVersion) -> None:
    for name in SERVING_ARTIFACTS:
        record = trained_version.artifacts[name]
        assert Path(record["path"]).suffix == ".npz" and len(record["sha256"]) == 64
    services.load_scoring_bundle.cache_clear()
    detector = services.scoring_bundle(trained_version).fused.models
    assert isinstance(detector.autoencoder, serving.DenseAutoencoder)
    assert isinstance(detector.forest, serving.ArrayForest)
    assert isinstance(detector.scaler, serving.ArrayScaler)


@pytest.mark.parametrize("name", ["forest", *SERVING_ARTIFACTS])
def test_a_tampered_artifact_is_refused_on_load(trained_version: ModelVersion, name: str) -> None:
    path = Path(trained_version.artifacts[name]["path"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(ArtifactError, match="does not match its recorded sha256"):
        Detector.load(trained_version.artifacts)


def test_a_version_saved_before_the_exports_still_scores_the_same(trained_version: ModelVersion) -> None:
    matrix = feature_matrix(trained_version)
    current = Detector.load(trained_version.artifacts).score(matrix)
    legacy_artifacts = {k: v for k, v in trained_version.artifacts.items() if k not in SERVING_ARTIFACTS}
    for name in SERVING_ARTIFACTS:
        Path(trained_version.artifacts[name]["path"]).unlink()

    legacy = Detector.load(legacy_artifacts).score(matrix)

    assert np.array_equal(legacy.anomaly_score, current.anomaly_score)
    assert np.array_equal(legacy.is_flagged, current.is_flagged)


def test_export_command_gives_an_old_version_its_arrays(trained_version: ModelVersion) -> None:
    from django.core.management import call_command

    for name in SERVING_ARTIFACTS:
        Path(trained_version.artifacts[name]["path"]).unlink()
    trained_version.artifacts = {k: v for k, v in trained_version.artifacts.items() if k not in SERVING_ARTIFACTS}
    trained_version.save(update_fields=["artifacts"])

    call_command("export_serving_arrays")

    trained_version.refresh_from_db()
    for name in SERVING_ARTIFACTS:
        assert file_sha256(Path(trained_version.artifacts[name]["path"])) == trained_version.artifacts[name]["sha256"]
    assert services.export_serving_arrays(trained_version) is False
    assert isinstance(Detector.load(trained_version.artifacts).forest, serving.ArrayForest)


def test_a_version_saved_before_the_exports_is_served_by_the_api(trained_version, client, admin_user) -> None:
    trained_version.artifacts = {k: v for k, v in trained_version.artifacts.items() if k not in SERVING_ARTIFACTS}
    trained_version.save(update_fields=["artifacts"])
    client.force_login(admin_user)
    row = source_row(trained_version.scores.select_related("transaction").first().transaction)

    response = client.post("/api/score", {"rows": [row]}, content_type="application/json")

    assert response.status_code == 200 and len(response.json()["rows"]) == 1


CHILD = """
import json, sys
import django
django.setup()
from detection.models import ModelVersion
from detection.realtime import score_rows
import anomaly_site.urls  # the whole site's views, as a serving process imports them
version = ModelVersion(pk={pk}, artifacts=json.loads(sys.argv[1]))
# One request per row: each is judged against the training rows, less its own stored invoice.
scores = [score_rows([row], version=version).rows["anomaly_score"].iloc[0] for row in json.loads(sys.argv[2])]
print(json.dumps({{
    "anomaly_score": [float(score) for score in scores],
    "tensorflow": "tensorflow" in sys.modules,
    "keras": "keras" in sys.modules,
    "sklearn": "sklearn" in sys.modules,
    "scipy.stats": "scipy.stats" in sys.modules,
}}))
"""


def run_child(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run `python *args` from the project folder in a fresh process, TensorFlow's start-up lines not hidden."""
    from tests.production.processes import child_env

    env = child_env(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        TF_CPP_MIN_LOG_LEVEL="0",  # any TensorFlow start-up line would show
    )
    return subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_serving_process_scores_without_importing_tensorflow_or_scikit_learn(
    trained_version: ModelVersion, tmp_path
) -> None:
    scored = trained_version.scores.select_related("transaction").order_by("-anomaly_score")[:3]
    rows = [source_row(score.transaction) for score in scored]

    result = run_child(
        "-c",
        CHILD.format(pk=trained_version.pk),
        json.dumps(trained_version.artifacts),
        json.dumps(rows),
        tmp_path=tmp_path,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["tensorflow"] is False and output["keras"] is False
    # Nor scikit-learn or scipy.stats (about 90 MiB of a worker's memory): only training and evaluation need them.
    assert output["sklearn"] is False and output["scipy.stats"] is False
    assert output["anomaly_score"] == pytest.approx([score.anomaly_score for score in scored], abs=1e-6)
    assert "tensorflow" not in result.stderr.lower() and "E0000" not in result.stderr


def test_manage_check_prints_nothing_from_tensorflow(tmp_path) -> None:
    result = run_child("manage.py", "check", tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_exported_forest_scores_many_blocks_of_rows_like_scikit_learn() -> None:
    rng = np.random.default_rng(4)
    training = rng.normal(size=(3000, 5)).astype(np.float32)
    fitted = IsolationForest(n_estimators=30, random_state=2).fit(training)
    rows = np.vstack([rng.normal(size=(serving.WALK_BLOCK_ROWS * 2 + 77, 5)) * 2, training[:10]]).astype(np.float32)

    scores = serving.export_forest(fitted).score_samples(rows)

    assert len(scores) == len(rows)
    assert np.abs(scores - fitted.score_samples(rows)).max() < 1e-9


TRAINING_CHILD = """
import os, sys
import numpy as np
print("a line of our own", file=sys.stderr, flush=True)
from detection.estimators import fit_detector
matrix = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
fit_detector(matrix, feature_names=["a", "b", "c", "d"], epochs=1, n_estimators=5)
print("trained", flush=True)
"""


def test_a_training_process_prints_no_tensorflow_start_up_lines(tmp_path) -> None:
    from tests.production.processes import child_env

    env = child_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a newcomer's shell has it
    result = subprocess.run(
        [sys.executable, "-c", TRAINING_CHILD], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "trained"
    assert "a line of our own" in result.stderr
    for marker in ("absl::InitializeLog", "oneDNN", "I0000", "E0000"):
        assert marker not in result.stderr, result.stderr[-2000:]
