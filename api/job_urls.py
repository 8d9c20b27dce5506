"""Routes of the background job endpoints, mounted at /api/jobs/."""

from django.urls import path

from .jobs import IngestJobCreateApi, JobDetailApi, TrainJobCreateApi

urlpatterns = [
    path("ingest", IngestJobCreateApi.as_view(), name="job-ingest"),
    path("train", TrainJobCreateApi.as_view(), name="job-train"),
    path("<int:job_id>", JobDetailApi.as_view(), name="job-detail"),
]
