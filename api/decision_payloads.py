"""Payloads of the decision endpoints (plain dicts) and the serializers that document them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from decisions import services
from decisions.audit import policy_fields
from decisions.models import Action, ListEntry, Policy, Rule, ValueList

# --- Response documentation (the payloads below are plain dicts) ---------------------------------------


class RuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    action = serializers.ChoiceField(choices=Action.choices)
    order = serializers.IntegerField()
    reason = serializers.CharField()
    condition = serializers.JSONField(help_text='{"all"|"any": [{"field", "op", "value"} or nested all/any]}')
    is_enabled = serializers.BooleanField()


class PolicySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Policy.Status.choices)
    review_at = serializers.IntegerField(help_text="Review when the 0-99 risk score is at least this.")
    block_at = serializers.IntegerField(help_text="Block when the 0-99 risk score is at least this.")
    based_on = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    published_by = serializers.CharField(allow_null=True)
    rules = RuleSerializer(many=True)


class BacktestRuleSerializer(serializers.Serializer):
    name = serializers.CharField()
    action = serializers.CharField()
    matches = serializers.IntegerField(help_text="Stored rows the rule would have matched.")
    confirmed_fraud = serializers.IntegerField()
    false_positive = serializers.IntegerField()


class BacktestDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    alerts = serializers.IntegerField()
    blocks = serializers.IntegerField()
    confirmed_fraud = serializers.IntegerField()
    false_positive = serializers.IntegerField()


class BacktestSerializer(serializers.Serializer):
    policy = serializers.IntegerField()
    model_version = serializers.IntegerField()
    rows = serializers.IntegerField()
    rules = BacktestRuleSerializer(many=True)
    decisions = serializers.DictField(child=serializers.IntegerField(), help_text="approve / review / block counts")
    alerts = serializers.IntegerField(help_text="review + block")
    days = serializers.IntegerField()
    alerts_per_day = serializers.FloatField()
    confirmed_fraud = serializers.IntegerField(help_text="Confirmed-fraud verdicts among the alerts.")
    false_positive = serializers.IntegerField(help_text="False-positive verdicts among the alerts.")
    by_day = BacktestDaySerializer(many=True)


class ThresholdViewSerializer(serializers.Serializer):
    review_at = serializers.IntegerField()
    block_at = serializers.IntegerField()
    alerts = serializers.IntegerField()
    reviews = serializers.IntegerField()
    blocks = serializers.IntegerField()
    days = serializers.IntegerField()
    alerts_per_day = serializers.FloatField()
    labelled_fraud = serializers.IntegerField(help_text="Rows reviewed as confirmed fraud.")
    fraud_caught = serializers.IntegerField(help_text="Of those, the ones at or over review_at.")
    fraud_caught_share = serializers.FloatField(allow_null=True)
    false_positives = serializers.IntegerField(help_text="Rows reviewed as false positives at or over review_at.")


class ValueListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ValueList.Kind.choices)
    description = serializers.CharField()
    entries = serializers.IntegerField(allow_null=True)


class ListEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    value = serializers.CharField()
    added_by = serializers.CharField(allow_null=True)
    added_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class AddedSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="New entries (values already listed are skipped).")


def rule_payload(rule: Rule) -> dict[str, Any]:
    return {"id": rule.pk, **services.rule_snapshot(rule)}


def policy_payload(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        **policy_fields(policy),
        "based_on": policy.based_on_id,
        "created_at": policy.created_at,
        "created_by": policy.created_by.get_username() if policy.created_by else None,
        "published_at": policy.published_at,
        "published_by": policy.published_by.get_username() if policy.published_by else None,
        "rules": [rule_payload(rule) for rule in policy.rules.all()],
    }


def list_payload(value_list: ValueList) -> dict[str, Any]:
    return {
        "id": value_list.pk,
        "name": value_list.name,
        "kind": value_list.kind,
        "description": value_list.description,
        "entries": getattr(value_list, "entry_count", None),
    }


def entry_payload(entry: ListEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "value": entry.value,
        "added_by": entry.added_by.get_username() if entry.added_by else None,
        "added_at": entry.added_at,
        "expires_at": entry.expires_at,
    }
