"""Filtering, ordering and cursor paging of /api/transactions/; every bad parameter is a 400 naming it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination

from decisions.models import Action
from detection.models import TransactionScore

from .serializers import parse_customer_id

ORDERING_FIELDS = ["anomaly_score", "invoice_date"]  # both indexed with the model version
DEFAULT_ORDERING = "-anomaly_score"
MAX_PAGE_SIZE = 500
DECISIONS = Action.values
SCORE_MESSAGE = "must be a number from 0 to 1, such as 0.95."
DATE_MESSAGE = "must be a date like 2011-12-09."
DATE_RANGE_MESSAGE = f"must be a date from 0001-01-01 to {date.max - timedelta(days=1)}."


class CustomerIdFormField(forms.Field):
    def to_python(self, value: str | None) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return parse_customer_id(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc))


@extend_schema_field(OpenApiTypes.INT)
class CustomerIdFilter(filters.Filter):
    field_class = CustomerIdFormField


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _day_bound(day: date, name: str) -> datetime:
    """Local midnight starting `day`; a 400 naming `name` when that lies outside the calendar."""
    try:
        return _local_midnight(day)
    except (OverflowError, ValueError):
        raise ValidationError({name: [DATE_RANGE_MESSAGE]})


def _day_filter(method: str, help_text: str) -> filters.DateFilter:
    """A calendar day applied by the filter set's `method`; anything else is a 400 showing a date."""
    return filters.DateFilter(method=method, help_text=help_text, error_messages={"invalid": DATE_MESSAGE})


class TransactionFilter(filters.FilterSet):
    customer_id = CustomerIdFilter(field_name="customer_id", help_text='CustomerID: 15311 or "15311.0".')
    flagged = filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_flagged",
        help_text="true: flagged by either model; false: flagged by neither.",
        error_messages={"invalid_choice": "must be true or false, not '%(value)s'."},
    )
    min_score = filters.NumberFilter(
        field_name="anomaly_score",
        lookup_expr="gte",
        min_value=0,
        max_value=1,
        help_text="Keep rows with anomaly_score >= this (0..1).",
        error_messages=dict.fromkeys(("invalid", "min_value", "max_value"), SCORE_MESSAGE),
    )
    date_from = _day_filter("filter_date_from", "First invoice day kept (YYYY-MM-DD, UK time).")
    date_to = _day_filter("filter_date_to", "Last invoice day kept, inclusive (YYYY-MM-DD, UK time).")
    country = filters.CharFilter(field_name="country", help_text="Exact country name, e.g. United Kingdom.")
    decision = filters.ChoiceFilter(
        choices=Action.choices,
        field_name="decision__decision",
        help_text="approve, review or block: the stored decision of the published policy.",
        error_messages={"invalid_choice": f"must be one of {', '.join(DECISIONS)}, not '%(value)s'."},
    )

    class Meta:
        model = TransactionScore
        fields: list[str] = []

    def filter_flagged(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(is_flagged=value == "true")

    def filter_date_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(invoice_date__gte=_day_bound(value, "date_from"))

    def filter_date_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        if value >= date.max:  # the day after it, the exclusive bound, is past the calendar's end
            raise ValidationError({"date_to": [DATE_RANGE_MESSAGE]})
        return queryset.filter(invoice_date__lt=_day_bound(value + timedelta(days=1), "date_to"))


class StrictOrderingFilter(OrderingFilter):
    """DRF's ordering filter, but an unknown field is a 400 (not silently ignored); `id` breaks ties."""

    def get_ordering(self, request, queryset, view) -> list[str]:
        allowed = [prefix + name for name in view.ordering_fields for prefix in ("-", "")]
        requested = request.query_params.get(self.ordering_param)
        fields = [term.strip() for term in requested.split(",")] if requested else [view.ordering]
        for term in fields:
            if term not in allowed:
                raise ValidationError({self.ordering_param: [f"'{term}' is not one of: {', '.join(allowed)}."]})
        return [*fields, "id"]


class ScoreCursorPagination(CursorPagination):
    """Cursor paging (stable under inserts); a malformed cursor or page_size is a 400."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = (DEFAULT_ORDERING, "id")

    def get_page_size(self, request) -> int:
        requested = request.query_params.get(self.page_size_query_param)
        if requested is None:
            return self.page_size
        if not requested.isdigit() or not 1 <= int(requested) <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"must be a whole number from 1 to {self.max_page_size}."]}
            )
        return int(requested)

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (NotFound, ValueError, TypeError, DjangoValidationError):
            if request.query_params.get(self.cursor_query_param) is None:
                raise
            message = "is not a cursor of this list: follow the next/previous links."
            raise ValidationError({self.cursor_query_param: [message]})
