"""Endpoints of the decision layer: policy versions (read, draft, rules, thresholds, backtest, publish),
the threshold view, and lists with their entries (CRUD, CSV import).

Each asks the same Django model permissions the admin asks for the same action; validation and
auditing happen once, in `decisions.services`, whose InvalidInput errors become 400s naming the field.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from decisions import selectors, services
from decisions.audit import RULE_FIELDS
from decisions.models import Action, ListEntry, Policy, ValueList

from .decision_payloads import (
    AddedSerializer,
    BacktestSerializer,
    ListEntrySerializer,
    PolicySerializer,
    RuleSerializer,
    ThresholdViewSerializer,
    ValueListSerializer,
    entry_payload,
    list_payload,
    policy_payload,
    rule_payload,
)
from .permissions import READ_SCORES, permission_for
from .serializers import ErrorSerializer, StrictSerializer

VIEW_POLICY = permission_for("decisions.view_policy")
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input: `errors` names each field."),
    403: OpenApiResponse(ErrorSerializer, description="Not logged in, or without the model permission."),
}
# A 404 (unknown policy, list or entry id) is answered but not documented: a path that is not an id
# at all gets Django's HTML 404, which would contradict a documented JSON one.


class JsonBodyApi(APIView):
    # A decision endpoint whose requests with a body send it as JSON. (A comment, not a docstring:
    # drf-spectacular would publish a docstring as the description of every endpoint without one.)
    parser_classes = [JSONParser]


def listing(name: str, serializer: type[serializers.Serializer], summary: str, description: str):
    """extend_schema of an endpoint listing every `name` (operation id api_<name>_list): many `serializer`s
    on 200, a 403 without the permission."""
    return extend_schema(
        summary=summary,
        description=description,
        operation_id=f"api_{name}_list",
        responses={200: serializer(many=True), 403: ERRORS[403]},
    )


def _policy(pk: int) -> Policy:
    return get_object_or_404(selectors.policies(), pk=pk)


class PolicyListApi(JsonBodyApi):
    def get_permissions(self):
        return [permission_for("decisions.add_policy")()] if self.request.method == "POST" else [VIEW_POLICY()]

    class DraftSerializer(StrictSerializer):
        based_on = serializers.IntegerField(required=False, help_text="The version to copy (default: published).")
        name = serializers.CharField(required=False, max_length=100, allow_blank=True)

    @listing("policies", PolicySerializer, "Policy versions", "Every policy version, newest first, with its rules.")
    def get(self, request):
        return Response([policy_payload(policy) for policy in selectors.policies()])

    @extend_schema(
        summary="Create a draft policy",
        request=DraftSerializer,
        description="Copies a version's thresholds and rules (default: the published one).",
        responses={201: PolicySerializer, **ERRORS},
    )
    def post(self, request):
        data = self.DraftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        based_on = data.validated_data.get("based_on")
        based = get_object_or_404(Policy, pk=based_on) if based_on else None
        draft = services.create_draft(user=request.user, based_on=based, name=data.validated_data.get("name", ""))
        return Response(policy_payload(_policy(draft.pk)), status=status.HTTP_201_CREATED)


class PolicyDetailApi(APIView):
    permission_classes = [VIEW_POLICY]

    @extend_schema(
        summary="One policy version",
        description="A version with its thresholds and rules.",
        responses={200: PolicySerializer, 403: ERRORS[403]},
    )
    def get(self, request, pk: int):
        return Response(policy_payload(_policy(pk)))


class PolicyRuleCreateApi(JsonBodyApi):
    permission_classes = [permission_for("decisions.add_rule")]

    @extend_schema(
        summary="Add a rule to a draft",
        request=inline_serializer(
            "RuleRequest",
            {
                "name": serializers.CharField(),
                "action": serializers.ChoiceField(choices=Action.choices),
                "reason": serializers.CharField(required=False),
                "order": serializers.IntegerField(required=False),
                "condition": serializers.JSONField(help_text='{"all"|"any": [{"field", "op", "value"}, ...]}'),
            },
        ),
        description="A bad condition is a 400 naming its part: condition.all[0].field, condition.any[1].value, ...",
        responses={201: RuleSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"body": ["must be a JSON object."]})
        unknown = sorted(set(request.data) - set(RULE_FIELDS))
        if unknown:
            raise serializers.ValidationError({key: ["unknown field."] for key in unknown})
        rule = services.save_rule(policy=_policy(pk), data=dict(request.data), user=request.user)
        return Response(rule_payload(rule), status=status.HTTP_201_CREATED)


class PolicyThresholdsApi(JsonBodyApi):
    permission_classes = [permission_for("decisions.change_policy")]

    @extend_schema(
        summary="Set a draft's thresholds",
        request=inline_serializer(
            "Thresholds", {"review_at": serializers.IntegerField(), "block_at": serializers.IntegerField()}
        ),
        responses={200: PolicySerializer, **ERRORS},
    )
    def put(self, request, pk: int):
        data = request.data if isinstance(request.data, dict) else {}
        policy = services.set_thresholds(
            policy=_policy(pk), review_at=data.get("review_at"), block_at=data.get("block_at"), user=request.user
        )
        return Response(policy_payload(_policy(policy.pk)))


class PolicyBacktestApi(APIView):
    permission_classes = [VIEW_POLICY]

    @extend_schema(
        summary="Backtest a policy version",
        request=None,
        description=(
            "What the version would have decided on every stored row of the active model: per rule its "
            "matches and the confirmed-fraud / false-positive verdicts among them, decision counts, alerts per day."
        ),
        responses={200: BacktestSerializer, 403: ERRORS[403]},
    )
    def post(self, request, pk: int):
        return Response(selectors.backtest(_policy(pk)))


class PolicyPublishApi(APIView):
    permission_classes = [permission_for("decisions.publish_policy")]

    @extend_schema(
        summary="Publish a draft",
        request=None,
        description="Atomically: the draft becomes published, the previous one archived; stored rows are re-decided.",
        responses={200: PolicySerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        policy = services.publish_policy(policy=_policy(pk), user=request.user)
        return Response(policy_payload(_policy(policy.pk)))


class ThresholdViewApi(APIView):
    """Whoever may read scores sees what two thresholds would do, as on the dashboard's threshold panel
    (the same selector); changing them needs decisions.change_policy."""

    permission_classes = [permission_for(READ_SCORES)]

    class QuerySerializer(StrictSerializer):
        review_at = serializers.IntegerField(min_value=0, max_value=99)
        block_at = serializers.IntegerField(min_value=0, max_value=99)

        def validate(self, attrs):
            services.validate_thresholds(attrs["review_at"], attrs["block_at"])
            return attrs

    @extend_schema(
        summary="What two thresholds would do",
        parameters=[QuerySerializer],
        description="Alerts per day, labelled fraud caught and false positives for review_at / block_at (0-99).",
        responses={200: ThresholdViewSerializer, 400: ERRORS[400], 403: ERRORS[403]},
    )
    def get(self, request):
        query = self.QuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return Response(selectors.threshold_view(**query.validated_data))


class ValueListApi(JsonBodyApi):
    def get_permissions(self):
        perm = "decisions.add_valuelist" if self.request.method == "POST" else "decisions.view_valuelist"
        return [permission_for(perm)()]

    class ListSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100)
        kind = serializers.ChoiceField(choices=ValueList.Kind.values)
        description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    @listing("lists", ValueListSerializer, "Lists", "Every list with its kind and entry count.")
    def get(self, request):
        return Response([list_payload(value_list) for value_list in selectors.value_lists()])

    @extend_schema(summary="Create a list", request=ListSerializer, responses={201: ValueListSerializer, **ERRORS})
    def post(self, request):
        data = self.ListSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        value_list = services.create_list(**data.validated_data, user=request.user)
        return Response(list_payload(value_list), status=status.HTTP_201_CREATED)


class ValueListDetailApi(APIView):
    def get_permissions(self):
        perm = "decisions.delete_valuelist" if self.request.method == "DELETE" else "decisions.view_valuelist"
        return [permission_for(perm)()]

    @extend_schema(summary="One list", responses={200: ValueListSerializer, 403: ERRORS[403]})
    def get(self, request, pk: int):
        return Response(list_payload(get_object_or_404(selectors.value_lists(), pk=pk)))

    @extend_schema(
        summary="Delete a list",
        description="Refused (400, `list`) while a published rule reads it.",
        responses={204: None, **ERRORS},
    )
    def delete(self, request, pk: int):
        services.delete_list(value_list=get_object_or_404(ValueList, pk=pk), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ListEntriesApi(JsonBodyApi):
    def get_permissions(self):
        perm = "decisions.add_listentry" if self.request.method == "POST" else "decisions.view_listentry"
        return [IsAuthenticated(), permission_for(perm)()]

    class EntriesSerializer(StrictSerializer):
        values = serializers.ListField(child=serializers.JSONField(), required=False, max_length=100_000)
        csv = serializers.CharField(required=False, help_text="CSV text; its first column holds the values.")
        expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

        def validate(self, attrs):
            if ("values" in attrs) == ("csv" in attrs):
                raise serializers.ValidationError({"values": ["send either values (a list) or csv (text)."]})
            return attrs

    @extend_schema(summary="A list's entries", responses={200: ListEntrySerializer(many=True), 403: ERRORS[403]})
    def get(self, request, pk: int):
        value_list = get_object_or_404(ValueList, pk=pk)
        entries = value_list.entries.select_related("added_by").order_by("value")
        return Response([entry_payload(entry) for entry in entries])

    @extend_schema(
        summary="Add entries to a list",
        request=EntriesSerializer,
        description="`values` (a JSON list) or `csv` (text, first column); values already listed are skipped.",
        responses={201: AddedSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        value_list = get_object_or_404(ValueList, pk=pk)
        data = self.EntriesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        expires_at = data.validated_data["expires_at"]
        if "csv" in data.validated_data:
            added = services.import_list_csv(
                value_list=value_list, text=data.validated_data["csv"], user=request.user, expires_at=expires_at
            )
        else:
            added = services.add_list_entries(
                value_list=value_list, values=data.validated_data["values"], user=request.user, expires_at=expires_at
            )
        return Response({"added": added}, status=status.HTTP_201_CREATED)


class ListEntryDetailApi(APIView):
    permission_classes = [permission_for("decisions.delete_listentry")]

    @extend_schema(summary="Remove an entry from a list", responses={204: None, 403: ERRORS[403]})
    def delete(self, request, pk: int, entry_pk: int):
        entry = get_object_or_404(ListEntry.objects.select_related("list"), pk=entry_pk, list_id=pk)
        services.remove_list_entry(entry=entry, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
