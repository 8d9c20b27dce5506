"""Every role against every API endpoint: reading scored data needs a view permission, starting a
job the same model permissions as in the admin, and a refusal comes before the input is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dashboard.dash_app import APP_NAME
from jobs.models import BackgroundJob

from .conftest import client_for, make_user, source_row

pytestmark = pytest.mark.django_db

OPEN, ANON, DENY, OK, QUEUED = 200, 401, 403, 200, 202
ENDPOINTS = [
    "GET /customer_ids",
    "POST /api/anomalies",
    "POST /api/score",
    "POST /api/score store",
    "GET /api/transactions/",
    "GET /api/models",
    "GET /api/models/<id>",
    "POST /api/jobs/train",
    "POST /api/jobs/ingest",
    "GET /api/jobs/<id>",
    "GET /api/health",
    "GET /api/schema/",
]
# Expected status per role, in ENDPOINTS order. "staff" is the staff flag alone: it grants nothing.
MATRIX = {
    "anonymous": [ANON] * 10 + [OPEN] * 2,
    "plain": [DENY] * 10 + [OPEN] * 2,
    "staff": [DENY] * 10 + [OPEN] * 2,
    "analyst": [OK, OK, OK, DENY, OK, OK, OK, DENY, DENY, DENY, OPEN, OPEN],
    "operator": [OK, OK, OK, DENY, OK, OK, OK, QUEUED, QUEUED, OK, OPEN, OPEN],
    "superuser": [OK, OK, OK, OK, OK, OK, OK, QUEUED, QUEUED, OK, OPEN, OPEN],
}
# With API_ALLOW_ANONYMOUS_READ on, the seed's two reads are open to anyone.
OPEN_SEED_READS = {"GET /customer_ids": OPEN, "POST /api/anomalies": OPEN}


def call_every_endpoint(client, *, version, score, csv: Path) -> dict[str, int]:
    """{endpoint: status} for one valid request to each endpoint."""
    job = BackgroundJob.objects.create(kind=BackgroundJob.Kind.TRAIN)
    row = source_row(score)
    requests = {
        "GET /customer_ids": lambda: client.get("/customer_ids"),
        "POST /api/anomalies": lambda: client.post(
            "/api/anomalies", {"customer_id": score.customer_id, "filter_metric": "TotalSpent"}, format="json"
        ),
        "POST /api/score": lambda: client.post("/api/score", {"rows": [row]}, format="json"),
        "POST /api/score store": lambda: client.post("/api/score", {"rows": [row], "store": True}, format="json"),
        "GET /api/transactions/": lambda: client.get("/api/transactions/"),
        "GET /api/models": lambda: client.get("/api/models"),
        "GET /api/models/<id>": lambda: client.get(f"/api/models/{version.pk}"),
        "POST /api/jobs/train": lambda: client.post("/api/jobs/train", {"epochs": 1}, format="json"),
        "POST /api/jobs/ingest": lambda: client.post(
            "/api/jobs/ingest", {"file": SimpleUploadedFile("data.csv", csv.read_bytes())}, format="multipart"
        ),
        "GET /api/jobs/<id>": lambda: client.get(f"/api/jobs/{job.pk}"),
        "GET /api/health": lambda: client.get("/api/health"),
        "GET /api/schema/": lambda: client.get("/api/schema/"),
    }
    return {name: requests[name]().status_code for name in ENDPOINTS}


@pytest.fixture
def queued_jobs(settings, tmp_path):
    """Jobs are queued on the ORM broker, not run; uploads go to tmp_path."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    settings.UPLOADS_DIR = tmp_path / "uploads"


@pytest.mark.parametrize("role", list(MATRIX))
def test_each_role_gets_its_status_from_each_endpoint(
    role, trained_version, typical_score, demo_csv, queued_jobs
) -> None:
    client = client_for(make_user(role))

    statuses = call_every_endpoint(client, version=trained_version, score=typical_score, csv=demo_csv)

    assert statuses == dict(zip(ENDPOINTS, MATRIX[role], strict=True))


@pytest.mark.parametrize("role", ["anonymous", "plain"])
def test_the_anonymous_read_setting_opens_only_the_seed_reads(
    role, trained_version, typical_score, demo_csv, queued_jobs, settings
) -> None:
    settings.API_ALLOW_ANONYMOUS_READ = True
    client = client_for(make_user(role))

    statuses = call_every_endpoint(client, version=trained_version, score=typical_score, csv=demo_csv)

    assert statuses == {**dict(zip(ENDPOINTS, MATRIX[role], strict=True)), **OPEN_SEED_READS}


def test_an_analyst_may_not_start_or_read_jobs_whatever_the_body(analyst_api, demo_csv, settings) -> None:
    settings.MAX_UPLOAD_BYTES = 100
    job = BackgroundJob.objects.create(kind=BackgroundJob.Kind.TRAIN)

    malformed = analyst_api.post("/api/jobs/train", "{not json", content_type="application/json")
    out_of_range = analyst_api.post("/api/jobs/train", {"epochs": 10**9}, format="json")
    oversized = analyst_api.post("/api/jobs/ingest", {"file": SimpleUploadedFile("d.csv", demo_csv.read_bytes())})
    not_csv = analyst_api.post("/api/jobs/ingest", "x" * 500, content_type="text/plain")
    detail = analyst_api.get(f"/api/jobs/{job.pk}")
    missing = analyst_api.get("/api/jobs/999999")

    statuses = [r.status_code for r in (malformed, out_of_range, oversized, not_csv, detail, missing)]
    assert statuses == [403] * 6
    assert malformed.json() == {"detail": "You do not have permission to perform this action."}
    assert BackgroundJob.objects.count() == 1


def test_with_the_job_permissions_the_same_bodies_are_read_and_refused_as_bad_input(
    operator_api, demo_csv, settings
) -> None:
    settings.MAX_UPLOAD_BYTES = 100

    malformed = operator_api.post("/api/jobs/train", "{not json", content_type="application/json")
    out_of_range = operator_api.post("/api/jobs/train", {"epochs": 10**9}, format="json")
    oversized = operator_api.post("/api/jobs/ingest", {"file": SimpleUploadedFile("d.csv", demo_csv.read_bytes())})
    missing = operator_api.get("/api/jobs/999999")

    assert [r.status_code for r in (malformed, out_of_range, oversized, missing)] == [400, 400, 400, 404]


def test_staff_with_the_job_permissions_queues_training_and_ingest(operator_api, demo_csv, queued_jobs) -> None:
    train = operator_api.post("/api/jobs/train", {"epochs": 1}, format="json")
    ingest = operator_api.post("/api/jobs/ingest", {"file": SimpleUploadedFile("data.csv", demo_csv.read_bytes())})

    assert (train.status_code, ingest.status_code) == (202, 202)
    assert operator_api.get(train.json()["url"]).json()["kind"] == "train"
    assert sorted(BackgroundJob.objects.values_list("kind", flat=True)) == ["ingest", "train"]


DASH_APP = f"/django_plotly_dash/app/{APP_NAME}/"
# The dashboard shows scored data too: anonymous users go to the login, users without the view
# permission on scores get 403, on the page and on every Dash endpoint.
DASHBOARD = {"anonymous": 302, "plain": 403, "staff": 403, "analyst": 200, "operator": 200, "superuser": 200}


@pytest.mark.parametrize("role", list(DASHBOARD))
def test_the_dashboard_needs_the_view_permission_on_scores(role, trained_version, settings) -> None:
    settings.WHITENOISE_USE_FINDERS = False
    client = client_for(make_user(role))

    statuses = {
        "page": client.get("/").status_code,
        "layout": client.get(DASH_APP + "_dash-layout").status_code,
        "dependencies": client.get(DASH_APP + "_dash-dependencies").status_code,
    }

    assert statuses == dict.fromkeys(statuses, DASHBOARD[role])
