"""Cases through the API: the queue, one case with its transactions and history, closing with a verdict."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import Case
from cases.selectors import case_detail, case_queue
from cases.services import CLOSE_CASE_PERMISSIONS, close_case

from .permissions import permission_for

VIEW_CASE_PERMISSION = "cases.view_case"
VERDICTS = {"fraud": Case.Status.CLOSED_FRAUD, "legitimate": Case.Status.CLOSED_LEGITIMATE}


class CaseRowSerializer(serializers.Serializer):
    """A case as `cases.selectors.CASE_FIELDS` reads it."""

    id = serializers.IntegerField()
    customer_id = serializers.IntegerField()
    status = serializers.CharField(help_text=f"One of {', '.join(Case.Status.values)}.")
    assignee = serializers.CharField(source="assignee__username", allow_null=True)
    notes = serializers.CharField()
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    sla_due_at = serializers.DateTimeField()
    first_alert_at = serializers.DateTimeField(help_text="InvoiceDate of its earliest transaction.")
    last_alert_at = serializers.DateTimeField(help_text="InvoiceDate of its latest transaction.")
    alert_count = serializers.IntegerField()
    value_at_risk = serializers.FloatField(help_text="Sum of |Quantity x UnitPrice| of its transactions.")
    max_score = serializers.FloatField(help_text="Highest anomaly_score of its transactions.")
    country = serializers.CharField(help_text="The customer's usual country.")


class CaseListSerializer(serializers.Serializer):
    results = CaseRowSerializer(many=True)


class CaseTransactionRowSerializer(serializers.Serializer):
    transaction_id = serializers.IntegerField()
    invoice_no = serializers.CharField(source="transaction__invoice_no")
    invoice_date = serializers.DateTimeField(source="transaction__invoice_date")
    anomaly_score = serializers.FloatField()
    amount = serializers.FloatField(help_text="Quantity x UnitPrice.")
    review_status = serializers.CharField(source="transaction__review__status", allow_null=True)


class CaseEventRowSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor__username", allow_null=True)
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    assignee = serializers.CharField(source="assignee__username", allow_null=True)
    note = serializers.CharField()


class CaseDetailSerializer(CaseRowSerializer):
    transactions = CaseTransactionRowSerializer(many=True)
    history = CaseEventRowSerializer(many=True)


class CaseQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Case.Status.values, required=False)
    assignee = serializers.ChoiceField(choices=["me"], required=False, help_text="'me': the caller's cases.")
    customer_id = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1, default=0)


class CloseSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=list(VERDICTS), help_text="fraud or legitimate.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CaseListApi(APIView):
    permission_classes = [permission_for(VIEW_CASE_PERMISSION)]

    @extend_schema(
        summary="The case queue",
        description="Cases by highest anomaly score, then value at risk; filter by status, assignee=me, customer_id.",
        parameters=[CaseQuerySerializer],
        responses={200: CaseListSerializer},
        operation_id="cases_list",
    )
    def get(self, request):
        query = CaseQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        cases = case_queue(
            status=params.get("status"),
            assignee_id=request.user.pk if params.get("assignee") == "me" else None,
            customer_id=params.get("customer_id"),
        )
        start = params["offset"]
        return Response(CaseListSerializer({"results": cases[start : start + params["limit"]]}).data)


class CaseDetailApi(APIView):
    permission_classes = [permission_for(VIEW_CASE_PERMISSION)]

    @extend_schema(
        summary="One case, its transactions and history", responses={200: CaseDetailSerializer}, operation_id="case"
    )
    def get(self, request, pk: int):
        case = case_detail(pk)
        if case is None:
            raise NotFound(f"No case {pk}.")
        return Response(CaseDetailSerializer(case).data)


class CaseCloseApi(APIView):
    permission_classes = [permission_for(*CLOSE_CASE_PERMISSIONS)]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Close a case",
        description=(
            "Closes the case as fraud or legitimate and applies the verdict to all its transactions as "
            "reviews (confirmed_fraud / false_positive). 409 when it is closed already."
        ),
        request=CloseSerializer,
        responses={200: CaseDetailSerializer},
    )
    def post(self, request, pk: int):
        data = CloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not Case.objects.filter(pk=pk).exists():
            raise NotFound(f"No case {pk}.")
        close_case(
            pk, actor=request.user, verdict=VERDICTS[data.validated_data["verdict"]], note=data.validated_data["note"]
        )
        return Response(CaseDetailSerializer(case_detail(pk)).data)
