"""Routes of the staff-only background job endpoints, mounted at /api/jobs/."""

from django.urls import path

from .jobs import IngestJobView, JobDetailView, TrainJobView

urlpatterns = [
    path("ingest", IngestJobView.as_view(), name="job-ingest"),
    path("train", TrainJobView.as_view(), name="job-train"),
    path("<int:job_id>", JobDetailView.as_view(), name="job-detail"),
]
