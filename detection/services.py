"""Write paths for detection: train and activate a model version, score newly arrived rows.

A training run writes into a new ModelVersion and switches the active pointer in one database
transaction only when everything else has finished; a run that fails or is interrupted is marked
failed and leaves the active version and its scores untouched.
"""

from __future__ import annotations

import gc
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.bulk_delete import delete_in_bulk
from core.bulk_load import refresh_statistics
from core.heartbeat import Heartbeat
from core.memory import map_large_blocks
from jobs.models import BackgroundJob
from jobs.recovery import recover_dead_jobs
from transactions.selectors import scoreable_transactions, transactions_frame

from . import sort_orders
from .bundle import ScoringBundle, load_bundle, save_bundle
from .daily_counts import store_first_write_counts
from .errors import NoActiveModel, NotACandidate, TrainingError, TrainingInProgress
from .estimators import SERVING_ARTIFACTS, Detector, file_sha256, fit_detector, save_serving_arrays
from .fusion import HISTORY_MODEL_FEATURES, fit_fused
from .kinds import SALE, line_kinds
from .labels import verdict_labels
from .learning import learn_from_labels
from .models import DailyScoreCount, ModelVersion, TransactionScore
from .score_writes import write_scores
from .scoring import score_frame, score_in_chunks
from .selectors import active_model_version as active_version
from .signals import scores_written
from .training_passes import TrainingLines, bundle_history, labelled_positions, spill_features, write_parts

logger = logging.getLogger(__name__)

# stage name, fraction done of the whole run (0..1)
ProgressCallback = Callable[[str, float], None]

# The forest and the autoencoder are fitted on a uniform random sample of at most this many sale
# lines (fusion.fit_fused: 100,000 found fewer planted bursts); the tail detector, the calibrations
# and the scoring use every row. Keeps fitting time flat as the data grows.
FIT_SAMPLE_ROWS = 150_000
KEEP_SCORED_VERSIONS = 2  # the active version and the one before it keep their score rows


def claim_training(*, started_by=None, parameters: dict | None = None, seed: int = 0) -> ModelVersion:
    """Create the new version in status `training`, refusing if another live run exists.

    The lock is the running version's row itself. A run is live while its heartbeat is younger
    than STALE_AFTER_SECONDS or while its job still waits in the queue; runs whose worker died are
    settled first (jobs.recovery), so a restarted worker's first request is not refused.
    """
    recover_dead_jobs()
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.STALE_AFTER_SECONDS)
    with transaction.atomic():
        running = ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.TRAINING)
        for version in running:
            if (version.heartbeat_at and version.heartbeat_at >= stale_before) or _waits_in_queue(version):
                raise TrainingInProgress(
                    f"training v{version.pk} is still running (started {version.created_at:%H:%M})"
                )
            fail_version(version.pk, f"interrupted: no heartbeat for over {settings.STALE_AFTER_SECONDS} s")
        return ModelVersion.objects.create(
            status=ModelVersion.Status.TRAINING,
            heartbeat_at=now,
            started_by=started_by,
            seed=seed,
            parameters=parameters or {},
            features=HISTORY_MODEL_FEATURES,
        )


def _waits_in_queue(version: ModelVersion) -> bool:
    """Whether a training job for `version` is queued and not yet picked up by a worker."""
    return BackgroundJob.objects.filter(
        kind=BackgroundJob.Kind.TRAIN, status=BackgroundJob.Status.QUEUED, parameters__model_version_id=version.pk
    ).exists()


def fail_version(version_id: int, error: str) -> None:
    """Mark a version that is not active failed, and remove its scores and files."""
    ModelVersion.objects.filter(pk=version_id, is_active=False).update(
        status=ModelVersion.Status.FAILED, error=error[:4000], finished_at=timezone.now()
    )
    delete_in_bulk(TransactionScore.objects.filter(model_version_id=version_id, model_version__is_active=False))
    DailyScoreCount.objects.filter(model_version_id=version_id, model_version__is_active=False).delete()
    shutil.rmtree(Path(settings.ARTIFACTS_DIR) / f"v{version_id}", ignore_errors=True)


def train_and_activate(
    *,
    contamination: float = 0.02,
    epochs: int = 20,
    seed: int = 0,
    started_by=None,
    version: ModelVersion | None = None,
    progress: ProgressCallback | None = None,
    candidate: bool = False,
) -> ModelVersion:
    """Fit the detectors on the sale lines' point-in-time features, score every scoreable row, store
    and activate; return the version. Features, scores and writes go a part of whole customers at a
    time (training_passes.py). With `candidate`, the version is stored and scored but kept as
    the candidate (`keep_as_candidate`) and the active version stays as it was.

    Raises TrainingInProgress if another run is live, TrainingError if there is nothing to train on;
    any failure marks the new version failed (with its error) and re-raises.
    """
    progress = progress or (lambda stage, fraction: None)
    map_large_blocks()  # the passes' freed arrays go back to the system (core.memory)
    parameters = {"contamination": contamination, "epochs": epochs, "seed": seed, "candidate": candidate}
    version = version or claim_training(started_by=started_by, parameters=parameters, seed=seed)
    folder = Path(settings.ARTIFACTS_DIR) / f"v{version.pk}"
    started = time.perf_counter()
    timings: dict[str, float] = {}
    spill_folder: Path | None = None  # pass 1's files of every part's rows and features
    beating = Heartbeat(lambda: ModelVersion.objects.filter(pk=version.pk).update(heartbeat_at=timezone.now()))
    try:
        beating.__enter__()
        tick = time.perf_counter()
        prune_old_versions()  # also what a run killed after activating its version left to do
        timings["prune_seconds"] = time.perf_counter() - tick
        progress("load", 0.0)
        tick = time.perf_counter()
        labels = verdict_labels()  # every verdict given before this run started
        frame = transactions_frame()
        if len(frame) < 50:
            raise TrainingError(f"only {len(frame)} scoreable transactions: load data with ingest_csv first")
        timings["load_seconds"] = time.perf_counter() - tick

        progress("lines", 0.1)
        tick = time.perf_counter()
        frame["kind"] = line_kinds(frame)
        sale_lines = int((frame["kind"] == SALE).sum())
        if sale_lines < 50:
            raise TrainingError(f"only {sale_lines} sale lines: the detectors need at least 50")
        prepared = TrainingLines.of(frame)  # the lines, item figures and priors, computed once
        priors = prepared.priors
        progress("features", 0.12)
        spill_folder = Path(tempfile.mkdtemp(prefix=f"training-v{version.pk}-"))
        spilled = spill_features(frame, prepared, spill_folder, labelled=labelled_positions(frame, labels), seed=seed)
        timings["features_seconds"] = time.perf_counter() - tick

        progress("history", 0.15)
        tick = time.perf_counter()  # the frame is let go before TensorFlow and the fit take their memory
        (history_rows, history_state), training_rows = bundle_history(frame, spilled, prepared), len(frame)
        del frame, prepared
        spilled.load_fit_set()  # left in files by pass 1: read once the frame is let go
        timings["save_seconds"] = time.perf_counter() - tick

        progress("fit", 0.2)
        tick = time.perf_counter()
        fused = fit_fused(
            spilled.fit_features,
            contamination=contamination,
            epochs=epochs,
            seed=seed,
            fit_rows=FIT_SAMPLE_ROWS,
            fit_models=lambda matrix, **kwargs: fit_detector(matrix, **kwargs),  # looked up per call (tests swap it)
        )
        timings["fit_seconds"] = time.perf_counter() - tick

        tick = time.perf_counter()
        # Learning reads the fit set's scores by the numpy exports, as a loaded version scores
        # (fused.models keeps the fitted objects for saving); without verdicts it reads no rows.
        fused, learnt = learn_from_labels(
            fused,
            spilled.fit_features,
            spilled.fit_frame,
            labels,
            seed=seed,
            scored=score_in_chunks(replace(fused, models=fused.models.exported()), spilled.fit_features)[1]
            if len(labels)
            else None,
        )
        fit_rows = len(spilled.fit_features)
        spilled.release_fit_set()
        timings["labels_seconds"] = time.perf_counter() - tick

        progress("save", 0.3)
        tick = time.perf_counter()
        bundle = ScoringBundle(fused=fused, priors=priors, rows=history_rows, state=history_state)
        del history_rows, history_state
        artifacts = save_bundle(bundle, folder)
        del bundle
        timings["save_seconds"] += time.perf_counter() - tick

        progress("score", 0.4)
        timings["score_seconds"] = timings["write_seconds"] = 0.0
        with transaction.atomic():
            serving = replace(fused, models=fused.models.exported())
            metrics, counts = write_parts(version, spilled.part_files, serving, training_rows, timings, progress)
            tick = time.perf_counter()
            store_first_write_counts(version, counts)
            version.training_rows = training_rows
            version.thresholds = {
                **fused.models.thresholds(),
                "fused_surprise": fused.fused_threshold,
                "contamination": contamination,
            }
            version.artifacts = artifacts
            version.metrics = {
                **metrics,
                **{k: round(v, 3) for k, v in timings.items() if k != "write_seconds"},
                "fit_rows": min(FIT_SAMPLE_ROWS, fit_rows),
                "fit_set_rows": fit_rows,
                "sale_lines": sale_lines,
                "labels": learnt,
            }
            version.finished_at = timezone.now()
            version.duration_seconds = time.perf_counter() - started
            version.save()
            if candidate:
                keep_as_candidate(version)
            else:
                activate(version)
        refresh_statistics(TransactionScore, DailyScoreCount, exact=True)  # the grid's version-wide filters
        version.metrics["write_seconds"] = round(timings["write_seconds"] + time.perf_counter() - tick, 3)
        tick = time.perf_counter()
        prune_old_versions()  # the versions this one displaced beyond KEEP_SCORED_VERSIONS
        version.metrics["prune_after_seconds"] = round(time.perf_counter() - tick, 3)
        version.save(update_fields=["metrics"])
        sort_orders.queue_writing(version.pk)  # the grid's sorts without an index, in the background
        progress("done", 1.0)
    except BaseException as exc:
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:4000],
            finished_at=timezone.now(),
            duration_seconds=time.perf_counter() - started,
        )
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        beating.__exit__(None, None, None)
        if spill_folder is not None:
            shutil.rmtree(spill_folder, ignore_errors=True)
    return version


def activate(version: ModelVersion) -> None:
    """Make `version` the only active one (its scores must be written already)."""
    with transaction.atomic():
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(
            is_active=False, status=ModelVersion.Status.RETIRED
        )
        version.is_active = True
        version.status = ModelVersion.Status.ACTIVE
        version.activated_at = timezone.now()
        version.save(update_fields=["is_active", "status", "activated_at"])


def keep_as_candidate(version: ModelVersion) -> None:
    """Make `version` the only candidate: an older candidate is retired (and loses its scores at the
    next pruning); the active version is left alone."""
    with transaction.atomic():
        ModelVersion.objects.filter(status=ModelVersion.Status.CANDIDATE).exclude(pk=version.pk).update(
            status=ModelVersion.Status.RETIRED
        )
        version.status = ModelVersion.Status.CANDIDATE
        version.save(update_fields=["status"])


def activate_candidate(version: ModelVersion) -> None:
    """Activate the candidate `version`; raise NotACandidate for a version in any other status.

    Rows that arrived after it was trained have no score under it yet: the next
    `score_new_transactions` (the schedule or `score_transactions`) scores them.
    """
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != ModelVersion.Status.CANDIDATE:
            raise NotACandidate(f"v{version.pk} is {locked.status}, not a candidate")
        activate(locked)
    version.refresh_from_db()
    prune_old_versions()


def prune_old_versions() -> None:
    """Keep the score rows and artifact folders of the last KEEP_SCORED_VERSIONS activated versions only.

    Runs in training, the candidate and training runs in progress keep theirs; every other version loses its
    scores and its `v<id>/` folder (its record stays, with its metrics).
    """
    activated = ModelVersion.objects.filter(activated_at__isnull=False).order_by("-activated_at")
    keep = list(activated.values_list("pk", flat=True)[:KEEP_SCORED_VERSIONS])
    in_use = Q(status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.CANDIDATE]) | Q(is_active=True)
    keep += list(ModelVersion.objects.filter(in_use).values_list("pk", flat=True))
    delete_in_bulk(TransactionScore.objects.exclude(model_version_id__in=keep))
    DailyScoreCount.objects.exclude(model_version_id__in=keep).delete()
    root = Path(settings.ARTIFACTS_DIR)
    for folder in root.glob("v*") if root.is_dir() else []:
        if folder.is_dir() and folder.name[1:].isdigit() and int(folder.name[1:]) not in keep:
            shutil.rmtree(folder, ignore_errors=True)


@lru_cache(maxsize=2)
def load_scoring_bundle(version_id: int, artifacts_json: str) -> ScoringBundle:
    """Return the scoring bundle of a version, loaded once per process (its training rows and their
    indexes memory-mapped: a request reads the pages of its customers and StockCodes only).

    Raises ArtifactError when a file is missing or does not match its recorded sha256.
    """
    bundle = load_bundle(json.loads(artifacts_json))
    # Django, pandas and (for a version without numpy exports) TensorFlow leave a large heap of
    # long-lived objects: move it out of the collector's sight so that a full collection does not
    # pause a scoring request for hundreds of milliseconds.
    gc.collect()
    gc.freeze()
    return bundle


def scoring_bundle(version: ModelVersion) -> ScoringBundle:
    return load_scoring_bundle(version.pk, json.dumps(version.artifacts, sort_keys=True))


def export_serving_arrays(version: ModelVersion) -> bool:
    """Write the numpy exports of a version trained before they existed and record them; return
    False if it has them already. Raises ArtifactError when its files cannot be loaded."""
    if all(name in version.artifacts for name in SERVING_ARTIFACTS):
        return False
    detector = Detector.load(version.artifacts)  # checks every file's sha256 first
    folder = Path(version.artifacts["quantiles"]["path"]).parent
    paths = save_serving_arrays(detector, folder)
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        locked.artifacts = {
            **locked.artifacts,
            **{name: {"path": str(path), "sha256": file_sha256(path)} for name, path in paths.items()},
        }
        locked.save(update_fields=["artifacts"])
    version.artifacts = locked.artifacts
    return True


def score_against_stored(frame: pd.DataFrame, version: ModelVersion) -> pd.DataFrame:
    """Score rows already in the database against every other stored row (their point-in-time past)."""
    past = transactions_frame()
    past = past[~past["transaction_id"].isin(frame["transaction_id"])]
    return score_frame(frame, scoring_bundle(version), past=past)


def score_new_transactions(*, version: ModelVersion | None = None) -> int:
    """Score the scoreable rows that have no score for the active version yet; return the count.

    New rows are judged against every other stored row, strictly before each (no retraining).
    """
    version = version or active_version()
    if version is None:
        raise NoActiveModel()
    unscored = scoreable_transactions().filter(
        ~Exists(TransactionScore.objects.filter(model_version=version, transaction_id=OuterRef("pk")))
    )
    frame = transactions_frame(unscored)
    if frame.empty:
        return 0
    scores = score_against_stored(frame, version)
    with transaction.atomic():
        written = write_scores(version, scores)
        scores_written.send(sender=ModelVersion, version=version, transaction_ids=scores["transaction_id"].tolist())
    if written:
        sort_orders.queue_writing(version.pk)  # the stored grid orders miss the new rows
    return written
