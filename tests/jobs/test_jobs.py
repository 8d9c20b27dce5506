"""Ingest and training as django-q2 tasks (sync mode): status, progress, duration and errors recorded."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule, Success

from detection.models import ModelVersion
from detection.services import claim_training
from jobs.models import BackgroundJob
from transactions.models import ImportBatch, Transaction

pytestmark = pytest.mark.django_db


def upload(path: Path, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, path.read_bytes(), content_type="text/csv")


def test_queued_ingest_from_the_admin_runs_and_records_its_outcome(admin_client, sync_jobs, demo_csv) -> None:
    response = admin_client.post("/admin/transactions/importbatch/upload/", {"file": upload(demo_csv)})

    job = BackgroundJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/backgroundjob/{job.pk}/change/")
    batch = ImportBatch.objects.get()
    assert (job.kind, job.status, job.progress, job.error) == ("ingest", "succeeded", 1.0, "")
    assert job.result["batch_id"] == batch.pk and job.result["rows_added"] == batch.rows_loaded > 2_500
    assert Transaction.objects.count() == batch.rows_loaded
    assert job.started_at <= job.finished_at and job.duration_seconds > 0
    assert job.task_id and Success.objects.filter(id=job.task_id).exists()
    assert batch.file_name == "data.csv"
    assert not any(Path(sync_jobs.UPLOADS_DIR).rglob("*.csv"))  # removed once loaded
    page = admin_client.get(f"/admin/jobs/backgroundjob/{job.pk}/change/").content.decode()
    assert "succeeded" in page and f"batch #{batch.pk}" in page


def test_queued_ingest_from_the_api(admin_client, sync_jobs, demo_csv) -> None:
    response = admin_client.post("/api/jobs/ingest", {"file": upload(demo_csv)})

    assert response.status_code == 202
    job_id = response.json()["id"]
    status = admin_client.get(f"/api/jobs/{job_id}").json()
    assert status["status"] == "succeeded" and status["progress"] == 1.0
    assert status["result"]["rows_added"] == Transaction.objects.count()
    assert status["duration_seconds"] > 0 and status["created_by"] == "admin"


def test_ingest_of_a_file_already_loaded_adds_nothing(admin_client, sync_jobs, demo_csv) -> None:
    admin_client.post("/api/jobs/ingest", {"file": upload(demo_csv)})
    rows = Transaction.objects.count()
    second = admin_client.post("/api/jobs/ingest", {"file": upload(demo_csv)}).json()

    assert second["status"] == "succeeded" and second["result"]["already_ingested"] is True
    assert Transaction.objects.count() == rows


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Invoice,Stock\n1,2\n", "wrong header"),
        (b"", "empty"),
        (b"\xff\xfeI\x00n\x00", "UTF-16"),
        (b"\x1f\x8bnot really gzip", "gzip"),
    ],
)
def test_bad_uploads_are_refused_before_anything_is_stored(admin_client, sync_jobs, content, message) -> None:
    response = admin_client.post("/api/jobs/ingest", {"file": SimpleUploadedFile("x.csv", content)})

    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"]["file"])
    assert BackgroundJob.objects.count() == 0
    assert not Path(sync_jobs.UPLOADS_DIR).exists() or not any(Path(sync_jobs.UPLOADS_DIR).iterdir())


def test_an_upload_over_the_size_limit_is_refused(admin_client, sync_jobs, demo_csv) -> None:
    sync_jobs.MAX_UPLOAD_BYTES = 1_000
    api = admin_client.post("/api/jobs/ingest", {"file": upload(demo_csv)})
    form = admin_client.post("/admin/transactions/importbatch/upload/", {"file": upload(demo_csv)})

    assert api.status_code == 400 and "limit of 1,000 bytes" in api.json()["errors"]["file"][0]
    assert form.status_code == 200 and "limit of 1,000 bytes" in form.content.decode()
    assert BackgroundJob.objects.count() == 0 and Transaction.objects.count() == 0


def test_an_upload_without_the_file_field_names_it(admin_client, sync_jobs) -> None:
    response = admin_client.post("/api/jobs/ingest", {"data": "x"})
    assert response.status_code == 400 and "file" in response.json()["errors"]


def test_jobs_api_is_for_staff_only(client, analyst_client, django_user_model, demo_csv) -> None:
    user = django_user_model.objects.create_user("someone", password="someone-pass-123")
    client.force_login(user)
    assert client.post("/api/jobs/train", {}, content_type="application/json").status_code == 403
    assert client.post("/api/jobs/ingest", {"file": upload(demo_csv)}).status_code == 403
    job = BackgroundJob.objects.create(kind="train")
    assert client.get(f"/api/jobs/{job.pk}").status_code == 403
    assert ModelVersion.objects.count() == 0


def test_queued_training_runs_and_activates(admin_client, sync_jobs, trained_version, fast_training) -> None:
    response = admin_client.post("/api/jobs/train", {"epochs": 3, "seed": 0}, content_type="application/json")

    assert response.status_code == 202, response.json()
    job = BackgroundJob.objects.get(pk=response.json()["id"])
    version = ModelVersion.objects.get(is_active=True)
    assert version.pk != trained_version.pk and version.pk == job.parameters["model_version_id"]
    assert (job.kind, job.status, job.progress, job.error) == ("train", "succeeded", 1.0, "")
    assert job.result["model_version_id"] == version.pk and job.result["rows"] == version.training_rows
    assert job.duration_seconds > 0 and version.started_by.username == "admin"
    assert version.parameters == {"contamination": 0.02, "epochs": 3, "seed": 0, "candidate": False}


def test_train_now_in_the_admin_queues_a_run(admin_client, sync_jobs, trained_version, fast_training) -> None:
    response = admin_client.post(
        "/admin/detection/modelversion/train/", {"contamination": 0.02, "epochs": 3, "seed": 0}
    )

    job = BackgroundJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/backgroundjob/{job.pk}/change/")
    assert job.status == "succeeded" and ModelVersion.objects.get(is_active=True).pk == job.result["model_version_id"]


def test_a_second_training_while_one_runs_is_refused(admin_client, sync_jobs, trained_version) -> None:
    running = claim_training()  # a live run (fresh heartbeat)

    api = admin_client.post("/api/jobs/train", {}, content_type="application/json")
    form = admin_client.post(
        "/admin/detection/modelversion/train/", {"contamination": 0.02, "epochs": 3, "seed": 0}, follow=True
    )

    assert api.status_code == 409 and f"v{running.pk} is still running" in api.json()["detail"]
    assert f"v{running.pk} is still running" in form.content.decode()
    assert ModelVersion.objects.count() == 2 and BackgroundJob.objects.count() == 0
    assert ModelVersion.objects.get(pk=running.pk).status == ModelVersion.Status.TRAINING


def test_a_dead_run_no_longer_blocks_and_its_job_is_closed(admin_client, sync_jobs, trained_version, fast_training):
    dead = claim_training()
    ModelVersion.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=31))
    dead_job = BackgroundJob.objects.create(kind="train", status="running", parameters={"model_version_id": dead.pk})

    response = admin_client.post("/api/jobs/train", {"epochs": 3}, content_type="application/json")

    assert response.status_code == 202 and response.json()["status"] == "succeeded"
    assert ModelVersion.objects.get(pk=dead.pk).status == ModelVersion.Status.FAILED
    dead_job.refresh_from_db()
    assert dead_job.status == "failed" and "interrupted" in dead_job.error


def test_a_failing_training_records_the_error(admin_client, sync_jobs) -> None:
    response = admin_client.post("/api/jobs/train", {"epochs": 3}, content_type="application/json")

    assert response.status_code == 202
    job = BackgroundJob.objects.get()
    assert job.status == "failed" and "only 0 scoreable transactions" in job.error
    assert job.finished_at is not None and job.duration_seconds is not None
    version = ModelVersion.objects.get(pk=job.parameters["model_version_id"])
    assert version.status == ModelVersion.Status.FAILED
    # the lock is free again
    assert admin_client.post("/api/jobs/train", {"epochs": 3}, content_type="application/json").status_code == 202


@pytest.mark.parametrize(
    ("body", "field"),
    [({"contamination": 0.5}, "contamination"), ({"epochs": 0}, "epochs"), ({"seed": "x"}, "seed")],
)
def test_bad_training_parameters_name_the_field(admin_client, sync_jobs, body, field) -> None:
    response = admin_client.post("/api/jobs/train", body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert ModelVersion.objects.count() == 0


def test_setup_periodic_tasks_creates_the_schedule_once() -> None:
    out = StringIO()
    call_command("setup_periodic_tasks", stdout=out)
    call_command("setup_periodic_tasks", stdout=out)

    assert Schedule.objects.filter(name="Score new transactions").count() == 1
    assert Schedule.objects.get(name="Recover dead jobs").repeats == -1  # enabled: it frees crashed runs
    assert Schedule.objects.get(name="Deliver pending webhooks").repeats == -1  # enabled: retries and leftovers
    assert out.getvalue().splitlines() == [
        "Created: Recover dead jobs, Deliver pending webhooks, Score new transactions, Decide new scores.",
        "Every periodic task exists already.",
    ]


def test_the_scoring_schedule_exists_disabled_and_is_not_queued(settings, monkeypatch) -> None:
    from django_q import scheduler as scheduler_module
    from django_q.brokers import get_broker
    from django_q.models import OrmQ
    from django_q.scheduler import scheduler

    # The scheduler closes "old" connections first, which on PostgreSQL ends the test's transaction.
    monkeypatch.setattr(scheduler_module, "close_old_django_connections", lambda: None)

    call_command("setup_periodic_tasks")
    schedule = Schedule.objects.get(name="Score new transactions")
    assert schedule.func == "detection.tasks.score_new_transactions"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 15, 0)
    assert schedule.next_run <= timezone.now()

    Schedule.objects.exclude(pk=schedule.pk).delete()  # only this schedule is looked at here
    scheduler(broker=get_broker())
    assert OrmQ.objects.count() == 0

    Schedule.objects.filter(pk=schedule.pk).update(repeats=-1)  # what an admin does to enable it
    scheduler(broker=get_broker())
    assert OrmQ.objects.count() == 1


def test_the_scheduled_task_scores_new_rows(trained_version, tmp_path, demo_frames) -> None:
    import pydoc

    from tests.conftest import write_csv
    from transactions.services import ingest_file

    extra = demo_frames[0].head(40).copy()
    extra["InvoiceNo"] = "999" + extra["InvoiceNo"].str[-3:]
    ingest_file(write_csv(tmp_path / "more.csv", extra))

    call_command("setup_periodic_tasks")
    task = pydoc.locate(Schedule.objects.get(name="Score new transactions").func)
    assert task() == int((extra["CustomerID"] != "").sum())
    assert task() == 0
