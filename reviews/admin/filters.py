"""List filters of the review queue and the review list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin import SimpleListFilter
from django.db.models import Q

from core.admin_mixins import AssignedFilter, ColumnValuesFilter, PresetFilter
from decisions.models import Action
from detection.models import ModelVersion
from transactions.models import Transaction

from ..models import Review


def model_version_id(value: str) -> int | None:
    """`value` as a model version id (a positive whole number the database can hold), else None."""
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value) or None


class ModelVersionFilter(SimpleListFilter):
    """The scores of one model version: the active one unless another is chosen."""

    title = "model version"
    parameter_name = "version"

    def lookups(self, request, model_admin):
        versions = ModelVersion.objects.filter(
            status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.CANDIDATE, ModelVersion.Status.RETIRED]
        )
        named = {ModelVersion.Status.ACTIVE: " (active)", ModelVersion.Status.CANDIDATE: " (candidate)"}
        return [(str(v.pk), f"v{v.pk}{named.get(v.status, '')}") for v in versions.order_by("-pk")[:10]]

    def queryset(self, request, queryset):
        if self.value():
            version_id = model_version_id(self.value())
            if version_id is None:
                messages.warning(request, f"No model version {self.value()!r}: pick one from the filter.")
                return queryset.none()
            return queryset.filter(model_version_id=version_id)
        active = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
        return queryset.filter(model_version_id=active) if active else queryset

    def choices(self, changelist):
        active = next((pk for pk, title in self.lookup_choices if "active" in title), None)
        for pk, title in self.lookup_choices:
            yield {
                "selected": self.value() == pk or (self.value() is None and pk == active),
                "query_string": changelist.get_query_string({self.parameter_name: pk}),
                "display": title,
            }


class ReviewStatusFilter(SimpleListFilter):
    """Rows by review status; a row without a review is `new`. Subqueries over the small review table."""

    title = "review status"
    parameter_name = "review"
    transaction_field = "transaction_id"

    def lookups(self, request, model_admin):
        return Review.Status.choices

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value == Review.Status.NEW:
            opened = Review.objects.exclude(status=Review.Status.NEW).values("transaction_id")
            return queryset.exclude(**{f"{self.transaction_field}__in": opened})
        return queryset.filter(
            **{f"{self.transaction_field}__in": Review.objects.filter(status=value).values("transaction_id")}
        )


class TransactionReviewStatusFilter(ReviewStatusFilter):
    transaction_field = "pk"


class RiskScoreFilter(PresetFilter):
    title = "RiskScore"
    parameter_name = "risk_score"
    presets = {
        "1": ("1 (ZScore > 3 or autoencoder > 0.85)", lambda: Q(risk_score=1.0)),
        "0": ("0", lambda: Q(risk_score=0.0)),
    }


class CountryFilter(ColumnValuesFilter):
    """Countries read from the transactions' country index (the score table has no country-first index)."""

    title = "country"
    parameter_name = "country"
    values_from = Transaction


class ReviewAssignedFilter(AssignedFilter):
    title = "assigned to"
    parameter_name = "assigned"
    user_field = "analyst"


class DecisionFilter(SimpleListFilter):
    """Rows by the stored decision of the published policy; `undecided` before the first re-decide."""

    title = "decision"
    parameter_name = "decision"

    def lookups(self, request, model_admin):
        return [*Action.choices, ("undecided", "Undecided")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "undecided":
            return queryset.filter(decision__isnull=True)
        if value in Action.values:
            return queryset.filter(decision__decision=value)
        return queryset
