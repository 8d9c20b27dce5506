"""Uploaded source files: check size and header, store outside any served path, queue and run the ingest."""

from __future__ import annotations

import gzip
import shutil
import uuid
import zlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.text import get_valid_filename

from jobs import services as jobs
from jobs.models import BackgroundJob
from jobs.recovery import Outcome

from .models import ImportBatch
from .services import ingest_file
from .source import EXPECTED_COLUMNS, SourceError, detect_encoding

HEAD_BYTES = 64 * 1024
# Who may upload a file to ingest, in the admin and through the API alike.
UPLOAD_PERMISSIONS = ("jobs.add_backgroundjob", "transactions.add_importbatch")
# Fraction of the whole ingest at which each stage of ingest_file starts and ends.
INGEST_STAGES = {"validate": (0.05, 0.3), "load": (0.3, 1.0)}


class UploadError(ValueError):
    """The uploaded file is refused before anything is stored or queued."""


def check_upload(upload: UploadedFile) -> None:
    """Raise UploadError when the file is too big, not CSV text or lacks the expected header."""
    limit = settings.MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise UploadError(f"the file is {upload.size:,} bytes; the limit is {limit:,} bytes (MAX_UPLOAD_BYTES)")
    head = _head(upload)
    if not head.strip():
        raise UploadError("the file is empty")
    try:
        encoding = detect_encoding(head, "latin-1")
    except SourceError as exc:
        raise UploadError(str(exc)) from exc
    first_line = head.split(b"\n", 1)[0].decode(encoding, errors="replace")
    header = [name.strip().strip('"').lstrip("\ufeff") for name in first_line.strip().split(",")]
    if header != EXPECTED_COLUMNS:
        raise UploadError(f"wrong header {','.join(header)!r}: expected {','.join(EXPECTED_COLUMNS)!r}")


def _head(upload: UploadedFile) -> bytes:
    """Return the first HEAD_BYTES of the file's content (gunzipped when it is gzip), rewinding it."""
    upload.seek(0)
    raw = upload.read(HEAD_BYTES)
    upload.seek(0)
    if not raw.startswith(b"\x1f\x8b"):
        return raw
    try:
        with gzip.GzipFile(fileobj=upload, mode="rb") as unzipped:
            return unzipped.read(HEAD_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise UploadError(f"the file looks gzip-compressed but cannot be read ({exc})") from exc
    finally:
        upload.seek(0)


def store_upload(upload: UploadedFile) -> Path:
    """Write the upload to its own folder under UPLOADS_DIR (never a served path) and return the path."""
    folder = Path(settings.UPLOADS_DIR) / uuid.uuid4().hex
    folder.mkdir(parents=True, mode=0o700)
    path = folder / (get_valid_filename(Path(upload.name or "upload.csv").name) or "upload.csv")
    try:
        with open(path, "wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
    except BaseException:
        remove_upload(path)
        raise
    return path


def queue_ingest(upload: UploadedFile, *, user=None) -> BackgroundJob:
    """Check and store the upload, then queue its ingest; return the job. Raises UploadError."""
    check_upload(upload)
    path = store_upload(upload)
    try:
        job = jobs.create_job(
            kind=BackgroundJob.Kind.INGEST,
            user=user,
            parameters={"file_name": path.name, "size_bytes": upload.size},
            upload_path=str(path),
        )
        return jobs.enqueue(job, "transactions.tasks.ingest_upload", job.pk)
    except BaseException:
        remove_upload(path)
        raise


def remove_upload(path: Path) -> None:
    """Delete a stored upload and its folder (each upload has its own)."""
    shutil.rmtree(path.parent, ignore_errors=True)


def run_ingest_job(job_id: int) -> dict[str, Any]:
    """Ingest the job's stored upload and return the outcome; the upload is deleted whether it loaded or not."""
    path = Path(BackgroundJob.objects.values_list("upload_path", flat=True).get(pk=job_id))

    def work(progress: jobs.JobProgress) -> dict[str, Any]:
        try:
            outcome = ingest_file(path, progress=_ingest_progress(progress))
        finally:
            remove_upload(path)
        batch = outcome.batch
        if outcome.already_ingested:
            summary = f"already ingested as batch #{batch.pk}: 0 rows added"
        else:
            summary = f"batch #{batch.pk}: {batch.rows_loaded:,} rows loaded, {batch.rows_quarantined:,} quarantined"
        return {
            "summary": summary,
            "batch_id": batch.pk,
            "already_ingested": outcome.already_ingested,
            "rows_added": outcome.rows_added,
            "rows_read": batch.rows_read,
            "rows_quarantined": batch.rows_quarantined,
            "rows_duplicate": batch.rows_duplicate,
        }

    return jobs.run_job(job_id, work)


def _ingest_progress(progress: jobs.JobProgress):
    """Adapt ingest_file's (stage, rows done in this call, stage total) to a job's overall fraction."""
    done: dict[str, int] = {}

    def report(stage: str, rows: int, total: int) -> None:
        start, end = INGEST_STAGES.get(stage, (0.0, 1.0))
        done[stage] = done.get(stage, 0) + rows
        share = done[stage] / total if total else 1.0
        progress(stage, start + (end - start) * min(share, 1.0))

    return report


def reconcile_dead_ingest(job: BackgroundJob, reason: str) -> Outcome:
    """Settle an ingest job whose worker died: its batch's rows were rolled back, so the batch failed.

    The stored upload is removed; uploading the file again loads it (nothing of it was kept).
    """
    ImportBatch.objects.filter(
        status=ImportBatch.Status.RUNNING, started_at__gte=job.started_at or job.created_at
    ).update(status=ImportBatch.Status.FAILED, error=f"interrupted: {reason}", finished_at=timezone.now())
    if job.upload_path:
        shutil.rmtree(Path(job.upload_path).parent, ignore_errors=True)
    return Outcome(succeeded=False, message=f"interrupted: {reason}; upload the file again to load it")
