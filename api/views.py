"""REST endpoints: each view validates its input, calls one selector or service, returns a payload."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from decisions import services as decision_services
from decisions.selectors import decide_rows
from detection import realtime
from detection.models import TransactionScore
from detection.selectors import (
    listed_rows,
    model_versions,
    ranked_anomalies,
    require_active_model_version,
    scored_transactions,
)
from transactions.selectors import customer_exists, customer_ids_read

from . import payloads
from .filters import DEFAULT_ORDERING, ORDERING_FIELDS, ScoreCursorPagination, StrictOrderingFilter, TransactionFilter
from .health import health_response, service_health
from .parsers import StrictJSONParser
from .permissions import (
    READ_CUSTOMERS,
    READ_MODEL_VERSIONS,
    READ_SCORES,
    may_store_transactions,
    permission_for,
    seed_read,
)
from .renderers import with_reused_json
from .serializers import (
    AnomaliesRequestSerializer,
    AnomaliesSerializer,
    CustomerIdsSerializer,
    ErrorSerializer,
    HealthSerializer,
    ModelVersionSerializer,
    ScoreRequestSerializer,
    ScoreResponseSerializer,
    TransactionRowSerializer,
)

BAD_INPUT = OpenApiResponse(ErrorSerializer, description="Bad input: `errors` names each field and what it allows.")
NOT_LOGGED_IN = OpenApiResponse(ErrorSerializer, description="Not logged in (session or `Authorization: Token ...`).")
NO_MODEL = OpenApiResponse(ErrorSerializer, description="No active model version yet (train one first).")
MODEL_VERSION_HEADER = "X-Model-Version"


def score_responses(ok: Any, others: dict[int, OpenApiResponse] | None = None) -> dict[int, Any]:
    """The documented answers of an endpoint reading the active model's scores: `ok` on 200, bad input,
    not logged in, `others`, and no active model."""
    return {200: ok, 400: BAD_INPUT, 401: NOT_LOGGED_IN, **(others or {}), 503: NO_MODEL}


class CustomerIdListApi(APIView):
    permission_classes = [seed_read(READ_CUSTOMERS)]
    renderer_classes = with_reused_json()  # the ids' JSON is kept while the process keeps the ids

    @extend_schema(
        summary="Every CustomerID",
        description="Every CustomerID of the loaded data (rows with a CustomerID), ascending, as integers.",
        responses={200: CustomerIdsSerializer, 401: NOT_LOGGED_IN},
    )
    def get(self, request):
        self.data_token, ids = customer_ids_read()
        return Response(payloads.customer_ids_payload(ids))


class AnomalyListApi(APIView):
    permission_classes = [seed_read(READ_SCORES)]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        summary="A customer's anomalies, ranked by a metric",
        description=(
            "Lists the customer's transactions scored by the active model version: with `scope` "
            '"flagged" (default) the rows flagged by either model, with "all" every scored row; '
            "ordered by `filter_metric` descending, then anomaly_score descending; at most `limit` "
            "rows (default 10, max 1000). `anomaly_list`, `chart_data` and `drill_down_data` hold the "
            "same rows in the same order. A known customer with no such rows gets 200 and empty "
            "lists; an unknown customer 404; no active model 503. The `X-Model-Version` header "
            "names the version read."
        ),
        request=AnomaliesRequestSerializer,
        responses=score_responses(
            AnomaliesSerializer, {404: OpenApiResponse(ErrorSerializer, description="Unknown customer.")}
        ),
        examples=[
            OpenApiExample(
                "Seed request", value={"customer_id": "15311", "filter_metric": "TotalSpent"}, request_only=True
            )
        ],
    )
    def post(self, request):
        query = AnomaliesRequestSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        customer_id, metric = query.validated_data["customer_id"], query.validated_data["filter_metric"]
        version = require_active_model_version(only=("id",))  # the rows' filter and the header read its id only
        rows = ranked_anomalies(
            metric=metric,
            customer_id=customer_id,
            scope=query.validated_data["scope"],
            limit=query.validated_data["limit"],
            version=version,
        )
        if not rows and not customer_exists(customer_id):
            raise NotFound(f"Customer {customer_id} is not in the loaded data.")
        return Response(payloads.anomalies_payload(rows, metric), headers={MODEL_VERSION_HEADER: str(version.pk)})


class TransactionScoreApi(APIView):
    permission_classes = [permission_for(READ_SCORES)]
    parser_classes = [StrictJSONParser]

    @extend_schema(
        summary="Score new transactions with the active model",
        description=(
            "Scores 1 to 1,000 transactions given in the source file's columns with the active model "
            "version, against the history learnt at training (nothing is retrained). Rows are validated "
            "as ingest validates a file; a bad row is a 400 naming `rows[i]` and the reason, and nothing is "
            "scored. Exact copies within one request are refused. Nothing is saved unless `store` is true "
            "(needs the add-transaction permission): the rows not loaded before then become a new import "
            "batch with their scores and decisions. Every row carries the published policy's `decision` "
            "(approve, review or block) and its `reasons` (rules matched, list hits, thresholds crossed)."
        ),
        request=ScoreRequestSerializer,
        responses=score_responses(
            ScoreResponseSerializer,
            {403: OpenApiResponse(ErrorSerializer, description="store=true without the add-transaction permission.")},
        ),
    )
    def post(self, request):
        query = ScoreRequestSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        store = query.validated_data["store"]
        if store and not may_store_transactions(request.user):
            raise PermissionDenied("store=true needs the permission to add transactions; store=false only scores.")
        version = require_active_model_version(only=("artifacts",))  # scoring reads its id and files only
        result = realtime.score_rows(query.validated_data["rows"], version=version, store=store, source_name="api")
        decisions = decide_rows(result.columns)
        if store and result.rows["stored"].any():
            decision_services.decide_stored_transactions(result.rows["transaction_id"][result.rows["stored"]], version)
        return Response(
            payloads.score_payload(result, store=store, decisions=decisions),
            headers={MODEL_VERSION_HEADER: str(version.pk)},
        )


@extend_schema(
    summary="Scored transactions, filtered and paged",
    description=(
        "The active model version's scored transactions, cursor-paged (`next`/`previous` links; "
        f"page_size 1..500, default 50), ordered by `ordering` ({', '.join(ORDERING_FIELDS)}, '-' for "
        f"descending; default {DEFAULT_ORDERING}). Dates are UK calendar days."
    ),
    responses=score_responses(TransactionRowSerializer(many=True)),
)
class TransactionListApi(generics.ListAPIView):
    permission_classes = [permission_for(READ_SCORES)]
    serializer_class = TransactionRowSerializer
    filterset_class = TransactionFilter
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    ordering_fields = ORDERING_FIELDS
    ordering = DEFAULT_ORDERING
    pagination_class = ScoreCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database read
            return TransactionScore.objects.none()
        return scored_transactions(require_active_model_version())

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(payloads.payload_rows(listed_rows(page), payloads.LISTED_KEYS))


@extend_schema(
    summary="Model versions", description="Every model version, newest first; `is_active` marks the one in use."
)
class ModelVersionListApi(generics.ListAPIView):
    permission_classes = [permission_for(READ_MODEL_VERSIONS)]
    serializer_class = ModelVersionSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return model_versions()


@extend_schema(summary="One model version", description="A model version with its parameters, thresholds and metrics.")
class ModelVersionDetailApi(generics.RetrieveAPIView):
    permission_classes = [permission_for(READ_MODEL_VERSIONS)]
    serializer_class = ModelVersionSerializer
    filter_backends: list = []

    def get_queryset(self):
        return model_versions()


class HealthApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []  # answers without reading sessions, so it works with the database down
    throttle_classes: list = []  # nor throttle counters, which live in the (database) cache

    @extend_schema(
        summary="Service health",
        description=(
            "Open to monitors (no login), also with a Host header the site does not serve (a probe "
            "from the load balancer). Reports the database, the active model's files, the job broker "
            "and the worker, and an overall status: ok and degraded answer 200, down answers 503 with "
            "Retry-After. Reveals only the active model's id and age."
        ),
        responses={200: HealthSerializer, 503: HealthSerializer},
    )
    def get(self, request):
        return health_response(service_health())
