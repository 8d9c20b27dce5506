"""The case queue: cases ranked by highest score then value at risk, worked and closed in bulk."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from core.admin_mixins import (
    AssignedFilter,
    ColumnValuesFilter,
    PresetFilter,
    ReadOnlyInline,
    acting_user,
    change_action,
)
from transactions.admin import TransactionLinkMixin

from .errors import CasePermissionDenied, CaseTransitionError
from .models import SERVICE_KEPT_FIELDS, Case, CaseEvent, CaseTransaction
from .services import (
    CLOSE_CASE_PERMISSIONS,
    CLOSED_STATUSES,
    OPEN_STATUSES,
    WORK_CASE_PERMISSIONS,
    apply_to_cases,
    change_case,
    check_case_transition,
)


def _overdue() -> Q:
    return Q(status__in=OPEN_STATUSES, sla_due_at__lt=timezone.now())


def _due_within_a_day() -> Q:
    now = timezone.now()
    return Q(status__in=OPEN_STATUSES, sla_due_at__gte=now, sla_due_at__lt=now + timezone.timedelta(hours=24))


class AgeFilter(PresetFilter):
    """Open cases past their SLA or due within a day."""

    title = "age"
    parameter_name = "age"
    presets = {"overdue": ("SLA overdue", _overdue), "due_24h": ("SLA due within 24 h", _due_within_a_day)}


class AssigneeFilter(AssignedFilter):
    """Me, nobody, or any one user who has cases."""

    title = "assignee"
    parameter_name = "assignee"
    user_field = "assignee"

    def lookups(self, request, model_admin):
        assignees = (
            Case.objects.filter(assignee__isnull=False)
            .order_by("assignee__username")
            .values_list("assignee_id", "assignee__username")
            .distinct()
        )
        return [*super().lookups(request, model_admin), *((str(pk), name) for pk, name in assignees)]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(assignee_id=value) if value and value.isdigit() else super().queryset(request, queryset)


class CountryFilter(ColumnValuesFilter):
    title = "country"
    parameter_name = "country"
    values_from = Case


class CaseTransactionInline(TransactionLinkMixin, ReadOnlyInline):
    model = CaseTransaction
    fields = ["transaction_link", "invoice_date", "anomaly_score", "amount", "review_status", "added_at"]
    ordering = ["-anomaly_score"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("transaction", "transaction__review")

    @admin.display(description="InvoiceDate")
    def invoice_date(self, link: CaseTransaction):
        return link.transaction.invoice_date

    @admin.display(description="review")
    def review_status(self, link: CaseTransaction) -> str:
        review = getattr(link.transaction, "review", None)
        return review.get_status_display() if review else "New"


class CaseEventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ["at", "actor", "from_status", "to_status", "assignee", "note"]
    verbose_name_plural = "history"


class CaseForm(forms.ModelForm):
    class Meta:
        model = Case
        fields = ["status", "assignee", "notes"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        if "status" in cleaned and self.instance.pk:
            try:
                check_case_transition(self.initial["status"], cleaned["status"], self.user)
            except (CaseTransitionError, CasePermissionDenied) as exc:
                self.add_error("status", ValidationError(exc.message))
        return cleaned


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    form = CaseForm
    list_display = [
        "__str__",
        "customer_link",
        "status",
        "assignee",
        "max_score_display",
        "value_at_risk_display",
        "alert_count",
        "country",
        "age",
        "sla",
    ]
    list_select_related = ["assignee"]
    list_filter = [AssigneeFilter, "status", AgeFilter, CountryFilter]
    ordering = ["-max_score", "-value_at_risk", "id"]
    search_fields = ["=customer__customer_id"]
    search_help_text = "An exact CustomerID."
    readonly_fields = ["customer_link", *SERVICE_KEPT_FIELDS]
    inlines = [CaseTransactionInline, CaseEventInline]
    actions = ["assign_to_me", "close_as_fraud", "close_as_legitimate"]
    list_per_page = 100

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class RequestCaseForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=request.user, **kw)

        return RequestCaseForm

    @admin.display(description="customer", ordering="customer_id")
    def customer_link(self, case: Case) -> str:
        return format_html('<a href="/?customer={}">{}</a>', case.customer_id, case.customer_id)

    @admin.display(description="max score", ordering="-max_score")
    def max_score_display(self, case: Case) -> str:
        return f"{case.max_score:.3f}"

    @admin.display(description="value at risk", ordering="-value_at_risk")
    def value_at_risk_display(self, case: Case) -> str:
        return f"{case.value_at_risk:,.2f}"

    @admin.display(description="age", ordering="opened_at")
    def age(self, case: Case) -> str:
        return timesince(case.opened_at, case.closed_at or timezone.now())

    @admin.display(description="SLA", ordering="sla_due_at")
    def sla(self, case: Case) -> str:
        if case.status in CLOSED_STATUSES:
            return "closed"
        return "overdue" if case.sla_due_at < timezone.now() else f"due in {timesince(timezone.now(), case.sla_due_at)}"

    def save_model(self, request: HttpRequest, obj: Case, form, change: bool) -> None:
        """Through the case service, so transitions, reviews and history are applied."""
        saved = change_case(
            obj.pk,
            actor=request.user,
            status=form.cleaned_data["status"],
            assignee=form.cleaned_data.get("assignee"),
            notes=form.cleaned_data.get("notes", ""),
        )
        obj.refresh_from_db()
        obj.pk = saved.pk

    def apply_change(self, request: HttpRequest, queryset: QuerySet, done: str, **change) -> None:
        changed, refused = apply_to_cases(queryset.values_list("pk", flat=True), actor=request.user, **change)
        self.message_user(request, f"{changed} {done}.", messages.SUCCESS)
        for reason, count in refused.items():
            self.message_user(request, f"{count} refused: {reason}", messages.WARNING)

    def has_work_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(WORK_CASE_PERMISSIONS)

    def has_close_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(CLOSE_CASE_PERMISSIONS)

    assign_to_me = change_action("Assign to me", "work", "assigned to you", assignee=acting_user)
    close_as_fraud = change_action(
        "Close as fraud (reviews: confirmed fraud)", "close", "closed as fraud", status=Case.Status.CLOSED_FRAUD
    )
    close_as_legitimate = change_action(
        "Close as legitimate (reviews: false positive)",
        "close",
        "closed as legitimate",
        status=Case.Status.CLOSED_LEGITIMATE,
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases are opened by grouping alerts

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the audit trail is kept whole
