"""Endpoints that start background jobs (ingest an uploaded CSV, train) and report on them.

Each asks the same model permissions as the admin does for the same action, before reading any input.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from detection.training_jobs import TRAIN_PERMISSIONS, queue_training
from detection.training_parameters import MAX_EPOCHS, MAX_SEED, TrainingParameters
from jobs.models import BackgroundJob
from transactions.uploads import UPLOAD_PERMISSIONS, UploadError, queue_ingest

from .parsers import StrictJSONParser
from .permissions import permission_for
from .serializers import username_field

# Multipart framing around the file itself.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


class JobSerializer(serializers.ModelSerializer):
    created_by = username_field("created_by")
    url = serializers.SerializerMethodField()

    class Meta:
        model = BackgroundJob
        fields = [
            "id",
            "url",
            "kind",
            "status",
            "progress",
            "message",
            "error",
            "parameters",
            "result",
            "task_id",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]

    def get_url(self, job: BackgroundJob) -> str:
        return reverse("api:job-detail", args=[job.pk])


class TrainRequestSerializer(serializers.Serializer):
    """Documentation of the body; validation is TrainingParameters.parse, shared with the admin and the command."""

    contamination = serializers.FloatField(default=0.02, help_text="Expected share of anomalies, 0 < c < 0.5.")
    epochs = serializers.IntegerField(default=20, min_value=1, max_value=MAX_EPOCHS)
    seed = serializers.IntegerField(default=0, min_value=0, max_value=MAX_SEED)
    candidate = serializers.BooleanField(
        default=False, help_text="Keep the trained version as a candidate to compare, instead of activating it."
    )


class IngestJobCreateApi(APIView):
    permission_classes = [permission_for(*UPLOAD_PERMISSIONS)]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Upload a CSV and queue its ingest",
        description=(
            "Multipart upload with the field `file` (the E-Commerce Data CSV or .csv.gz). The size "
            "(MAX_UPLOAD_BYTES) and header are checked before anything is stored or queued."
        ),
        request=inline_serializer("IngestUpload", {"file": serializers.FileField()}),
        responses={
            202: JobSerializer,
            400: OpenApiResponse(description="`file` missing, too large, or not the expected CSV."),
        },
    )
    def post(self, request):
        limit = settings.MAX_UPLOAD_BYTES
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + UPLOAD_OVERHEAD_BYTES:
            raise exceptions.ValidationError({"file": [f"the upload is larger than the limit of {limit:,} bytes"]})
        upload = request.FILES.get("file")
        if upload is None:
            raise exceptions.ValidationError({"file": ["send the CSV as the multipart field `file`"]})
        try:
            job = queue_ingest(upload, user=request.user)
        except UploadError as exc:
            raise exceptions.ValidationError({"file": [str(exc)]})
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class TrainJobCreateApi(APIView):
    permission_classes = [permission_for(*TRAIN_PERMISSIONS)]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        summary="Queue a training run",
        description="Claims the training lock at once: 409 while another live run holds it.",
        request=TrainRequestSerializer,
        responses={
            202: JobSerializer,
            400: OpenApiResponse(description="A parameter out of range."),
            409: OpenApiResponse(description="Another training run is in progress."),
        },
    )
    def post(self, request):
        job = queue_training(user=request.user, parameters=TrainingParameters.parse(request.data))
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(APIView):
    permission_classes = [permission_for("jobs.view_backgroundjob")]

    @extend_schema(summary="A background job's status, progress, duration and error", responses={200: JobSerializer})
    def get(self, request, job_id: int):
        job = get_object_or_404(BackgroundJob.objects.select_related("created_by"), pk=job_id)
        return Response(JobSerializer(job).data)
