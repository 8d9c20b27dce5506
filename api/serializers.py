"""Request validation and the documented shape of every response.

Response payloads are built by `api.payloads` (plain dicts, for speed); the serializers here that
describe them are generated from the score-field registry (`detection.fields`) and its model fields, so
the OpenAPI schema and the payloads cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from decisions.models import Action
from detection import fields as score_fields
from detection.fields import DRILL_DOWN_KEYS, LISTED_KEYS, METRICS, PAYLOAD_NAMES
from detection.models import ModelVersion
from detection.realtime import MAX_ROWS
from transactions.source import EXPECTED_COLUMNS

from .payloads import MAX_LIMIT, SCOPES

MAX_CUSTOMER_ID = 2**31 - 1
METRIC_NAMES = ", ".join(METRICS)


def parse_customer_id(value: object) -> int:
    """Return `value` (15311, "15311", "15311.0" or 15311.0) as an int; ValueError says what is allowed."""
    problem = f'must be a positive whole number such as 15311, "15311" or "15311.0", not {value!r}'
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(problem)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(problem)
    if not number.is_finite() or number != number.to_integral_value() or not 1 <= number <= MAX_CUSTOMER_ID:
        raise ValueError(problem)
    return int(number)


@extend_schema_field(
    {
        "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": r"^\s*\d+(\.0*)?\s*$"}],
        "example": 15311,
    }
)
class CustomerIdField(serializers.Field):
    """A CustomerID given as 15311, "15311" or "15311.0"; always an int inside."""

    default_error_messages = {
        "required": 'This field is required: a positive whole number such as 15311, "15311" or "15311.0".',
        "null": 'must be a positive whole number such as 15311, "15311" or "15311.0", not null.',
    }

    def to_internal_value(self, data: Any) -> int:
        try:
            return parse_customer_id(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc))

    def to_representation(self, value: int) -> int:
        return int(value)


class StrictSerializer(serializers.Serializer):
    """A request serializer that refuses keys it does not know (typos would otherwise pass silently).

    Unknown keys are reported with every other field's error in one 400, so a client fixes all of
    them at once."""

    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, Any] = {}
        if isinstance(data, Mapping):
            allowed = ", ".join(self.fields)
            errors = {key: [f"unknown field; allowed: {allowed}"] for key in sorted(set(data) - set(self.fields))}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not errors or not isinstance(exc.detail, Mapping):
                raise
            raise serializers.ValidationError({**errors, **exc.detail}) from exc
        if errors:
            raise serializers.ValidationError(errors)
        return value


class AnomaliesRequestSerializer(StrictSerializer):
    customer_id = CustomerIdField(help_text='The customer: 15311, "15311" or "15311.0".')
    filter_metric = serializers.ChoiceField(
        choices=list(METRICS),
        help_text="The metric that orders the rows (descending; ties by anomaly_score).",
        error_messages={
            "required": f"This field is required: one of {METRIC_NAMES}.",
            "invalid_choice": f'"{{input}}" is not a metric: use one of {METRIC_NAMES}.',
        },
    )
    scope = serializers.ChoiceField(
        choices=list(SCOPES),
        default="flagged",
        help_text="flagged (default): rows flagged by either model; all: every scored row of the customer.",
        error_messages={"invalid_choice": f'"{{input}}" is not a scope: use one of {", ".join(SCOPES)}.'},
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_LIMIT,
        default=10,
        help_text=f"How many rows at most (1..{MAX_LIMIT}, default 10).",
        error_messages={
            "invalid": f"must be a whole number from 1 to {MAX_LIMIT}.",
            "min_value": f"must be a whole number from 1 to {MAX_LIMIT}.",
            "max_value": f"must be a whole number from 1 to {MAX_LIMIT}.",
        },
    )


class SourceRowSerializer(serializers.Serializer):
    """One transaction in the source file's columns (documentation of `SourceRowsField`)."""

    InvoiceNo = serializers.CharField(max_length=20)
    StockCode = serializers.CharField(max_length=32)
    Description = serializers.CharField(max_length=255, required=False, allow_blank=True)
    Quantity = serializers.IntegerField(help_text="A whole number (a numeric string is accepted too).")
    InvoiceDate = serializers.CharField(help_text="As in the file, month/day/year hour:minute UK time: 12/1/2010 8:26.")
    UnitPrice = serializers.FloatField(help_text="A number (a numeric string is accepted too).")
    CustomerID = serializers.IntegerField(help_text='Required for scoring: 15311, "15311" or "15311.0".')
    Country = serializers.CharField(max_length=64)


@extend_schema_field(SourceRowSerializer(many=True))
class SourceRowsField(serializers.Field):
    """1..MAX_ROWS objects keyed by the file's columns, turned into {column: text} for `clean_rows`.

    Checks only the JSON shape here (fast, no per-field serializer); the values themselves are
    validated by ingest's own cleaning, with the same reasons as for a file.
    """

    def to_internal_value(self, data: Any) -> list[dict[str, str]]:
        if not isinstance(data, list) or not 1 <= len(data) <= MAX_ROWS:
            raise serializers.ValidationError(f"must be a list of 1 to {MAX_ROWS} objects with the file's columns.")
        errors: dict[str, Any] = {}
        rows = []
        for index, item in enumerate(data):
            problems = _row_problems(item)
            if problems:
                errors[str(index)] = problems
                continue
            rows.append({column: _as_text(item.get(column)) for column in EXPECTED_COLUMNS})
        if errors:
            raise serializers.ValidationError(errors)
        return rows

    def to_representation(self, value: Any) -> Any:
        return value


def _row_problems(item: Any) -> dict[str, list[str]] | list[str]:
    """What is wrong with the shape of one posted row (empty when nothing)."""
    if not isinstance(item, dict):
        return [f"must be an object with the keys {', '.join(EXPECTED_COLUMNS)}."]
    allowed = ", ".join(EXPECTED_COLUMNS)
    problems = {key: [f"unknown column; allowed: {allowed}"] for key in sorted(item.keys() - set(EXPECTED_COLUMNS))}
    for key in EXPECTED_COLUMNS:
        value = item.get(key)
        if isinstance(value, bool) or not (value is None or isinstance(value, str | int | float)):
            problems[key] = [f"must be text or a number, not {value!r}"]
    return problems


def _as_text(value: str | float | None) -> str:
    return "" if value is None else str(value)


class ScoreRequestSerializer(StrictSerializer):
    rows = SourceRowsField(help_text=f"1 to {MAX_ROWS} transactions in the file's columns.")
    store = serializers.BooleanField(
        default=False,
        help_text="Also save the rows (a new import batch) with their scores. Needs the add-transaction permission.",
    )


# --- Response documentation ------------------------------------------------------------------------


class ExplanationItemSerializer(serializers.Serializer):
    feature = serializers.CharField(help_text="TotalSpent, Quantity, UnitPrice, TransactionHour, ...")
    value = serializers.FloatField(help_text="The feature's value on this row.")
    share = serializers.FloatField(help_text="Its share of the autoencoder's reconstruction error, 0..1.")


class FlagReasonSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="What kind of evidence: new_country, burst, price_vs_item, rule, ...")
    values = serializers.DictField(help_text="The figures the sentence quotes.")
    surprise = serializers.FloatField(allow_null=True, help_text="-log tail probability among training lines.")
    text = serializers.CharField(help_text='In words, e.g. "first purchase from Brazil; 14 earlier invoices".')


_SERIALIZER_FIELDS: dict[str, type[serializers.Field]] = {
    "int": serializers.IntegerField,
    "float": serializers.FloatField,
    "bool": serializers.BooleanField,
    "text": serializers.CharField,
    "datetime": serializers.DateTimeField,
}


def payload_serializer(name: str, keys: list[str], **extra: serializers.Field) -> type[serializers.Serializer]:
    """A serializer class documenting rows with `keys`, named as PAYLOAD_NAMES names them."""
    fields: dict[str, serializers.Field] = {}
    for key in keys:
        if key == "explanation":
            fields[PAYLOAD_NAMES[key]] = ExplanationItemSerializer(many=True, help_text=score_fields.help_text(key))
            continue
        if key == "flag_reasons":
            fields[PAYLOAD_NAMES[key]] = FlagReasonSerializer(many=True, help_text=score_fields.help_text(key))
            continue
        field_class = _SERIALIZER_FIELDS[score_fields.value_kind(key)]
        help_text = score_fields.help_text(key) or None
        # transaction_id is null for posted rows that were not stored.
        allow_null = key == "transaction_id" or score_fields.nullable(key)
        fields[PAYLOAD_NAMES[key]] = field_class(help_text=help_text, allow_null=allow_null)
    return type(name, (serializers.Serializer,), {**extra, **fields})


class CustomerIdsSerializer(serializers.Serializer):
    total_customer_ids = serializers.IntegerField()
    customer_ids = serializers.ListField(child=serializers.IntegerField(), help_text="Every CustomerID, ascending.")


class AnomalyListItemSerializer(serializers.Serializer):
    InvoiceNo = serializers.CharField()
    metric_value = serializers.FloatField(help_text="The row's filter_metric value (0/1 for the two indicators).")
    RiskScore = serializers.FloatField()


DrillDownRowSerializer = payload_serializer("DrillDownRowSerializer", DRILL_DOWN_KEYS)


class AnomaliesSerializer(serializers.Serializer):
    anomaly_list = AnomalyListItemSerializer(many=True)
    chart_data = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text='{"InvoiceNo": [...], "<filter_metric>": [...]}: the same rows in the same order.',
    )
    drill_down_data = DrillDownRowSerializer(many=True)


TransactionRowSerializer = payload_serializer("TransactionRowSerializer", LISTED_KEYS)
ScoredRowSerializer = payload_serializer(
    "ScoredRowSerializer",
    LISTED_KEYS,
    row=serializers.IntegerField(help_text="Position of the row in the request, from 0."),
    stored=serializers.BooleanField(help_text="Saved by this request (false when not asked, or already loaded)."),
    decision=serializers.ChoiceField(
        choices=Action.choices,
        help_text="The published policy's decision: allow rules, then block, then review rules, then the thresholds.",
    ),
    reasons=serializers.ListField(
        child=serializers.CharField(),
        help_text="Every rule matched, list hit and threshold crossed, e.g. \"rule 'Big spend' (block): ...\", "
        '"list \'trusted wholesalers\' has customer_id", "risk >= review_at 65"; [] when none.',
    ),
)


class ScoreResponseSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(help_text="The model version that scored the rows.")
    store = serializers.BooleanField(help_text="Whether saving was asked.")
    batch_id = serializers.IntegerField(allow_null=True, help_text="The import batch holding the saved rows.")
    flagged = serializers.IntegerField(help_text="How many rows either model flags.")
    rows = ScoredRowSerializer(many=True)


def username_field(user_field: str) -> serializers.CharField:
    """The username of the model's `user_field` user; null when there is none."""
    return serializers.CharField(source=f"{user_field}.get_username", default=None, read_only=True)


class ModelVersionSerializer(serializers.ModelSerializer):
    started_by = serializers.CharField(source="started_by.username", default=None, allow_null=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "status",
            "is_active",
            "created_at",
            "finished_at",
            "activated_at",
            "duration_seconds",
            "training_rows",
            "seed",
            "parameters",
            "features",
            "thresholds",
            "metrics",
            "error",
            "started_by",
        ]


class ActiveModelSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    activated_at = serializers.DateTimeField(allow_null=True)
    trained_at = serializers.DateTimeField(allow_null=True)
    age_seconds = serializers.FloatField(allow_null=True, help_text="Seconds since it was activated.")


class HealthCheckSerializer(serializers.Serializer):
    status = serializers.CharField(
        help_text="database: ok|down; model: ok|none|broken; broker: ok|down; worker: ok|stale|unknown."
    )
    detail = serializers.CharField(required=False)


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["ok", "degraded", "down"],
        help_text="ok (200): everything works; degraded (200): reads work, something else does not; "
        "down (503, Retry-After): the database does not answer.",
    )
    checks = serializers.DictField(child=HealthCheckSerializer(), help_text="database, model, broker, worker.")
    database = serializers.ChoiceField(choices=["ok", "unreachable"])
    active_model = ActiveModelSerializer(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='For bad input: each offending field ("customer_id", "rows[3]", "Content-Type", "body") '
        "with its messages, which name the allowed values.",
    )
