"""Faults: a process killed mid-ingest or mid-training, an unwritable or full artifacts folder."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from detection.models import ModelVersion, TransactionScore

from .processes import driver, start_driver, wait_for_file


def _kill_when_hanging(process: subprocess.Popen, marker: Path) -> None:
    wait_for_file(marker, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def test_sigkill_mid_ingest_leaves_no_rows_and_a_rerun_completes(scratch_env, demo_csv: Path, tmp_path) -> None:
    marker = tmp_path / "hanging"
    process = start_driver("--hang", str(marker), f"ingest:{demo_csv}", env=scratch_env)
    _kill_when_hanging(process, marker)

    after_kill, rerun, after_rerun = driver("state", f"ingest:{demo_csv}", "state", env=scratch_env)

    # The killed batch wrote its first chunk inside its transaction: none of it survived.
    assert after_kill["transactions"] == 0
    assert [(status, loaded) for _, status, loaded in after_kill["batches"]] == [("running", 0)]
    assert rerun["rows_loaded"] > 2_900
    assert after_rerun["transactions"] == rerun["rows_loaded"]
    assert after_rerun["batches"][-1] == [rerun["batch"], "completed", rerun["rows_loaded"]]


def test_sigkill_mid_training_leaves_the_old_model_active_and_serving(scratch_env, demo_csv: Path, tmp_path) -> None:
    _, first = driver(f"ingest:{demo_csv}", "train", env=scratch_env)
    marker = tmp_path / "hanging"
    process = start_driver("--hang", str(marker), "train", env=scratch_env)
    _kill_when_hanging(process, marker)

    (state,) = driver("state", env=scratch_env)

    killed = first["version"] + 1
    assert state["versions"] == [[first["version"], "active", True], [killed, "training", False]]
    # The killed run had written its score rows inside its transaction: none survived.
    assert state["scores"] == {str(first["version"]): first["rows"]}
    assert state["served"] == {"status": 200, "model_version": str(first["version"])}


@pytest.fixture
def full_disk(tmp_path: Path):
    """A 64 KiB tmpfs (too small for the autoencoder file); skips where tmpfs cannot be mounted."""
    mount = tmp_path / "full"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _assert_training_failed_cleanly(trained_version: ModelVersion, fast_training, error: type[Exception]) -> str:
    scores_before = TransactionScore.objects.filter(model_version=trained_version).count()

    with pytest.raises(error):
        fast_training.train_and_activate(epochs=3, seed=0)

    failed = ModelVersion.objects.exclude(pk=trained_version.pk).get()
    trained_version.refresh_from_db()
    assert failed.status == ModelVersion.Status.FAILED and not failed.is_active
    assert trained_version.is_active and trained_version.status == ModelVersion.Status.ACTIVE
    assert TransactionScore.objects.filter(model_version=trained_version).count() == scores_before
    assert not TransactionScore.objects.filter(model_version=failed).exists()
    return failed.error


def test_unwritable_artifacts_dir_fails_training_cleanly(trained_version, fast_training, settings, tmp_path) -> None:
    # A path below a regular file cannot be created, even by root (who ignores permission bits).
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.ARTIFACTS_DIR = blocker / "artifacts"

    error = _assert_training_failed_cleanly(trained_version, fast_training, NotADirectoryError)

    assert error.startswith("NotADirectoryError")


def test_full_disk_fails_training_cleanly(trained_version, fast_training, settings, full_disk: Path) -> None:
    settings.ARTIFACTS_DIR = full_disk

    error = _assert_training_failed_cleanly(trained_version, fast_training, OSError)

    assert "No space left on device" in error
    assert list(full_disk.iterdir()) == []  # the partial artifact folder was removed
