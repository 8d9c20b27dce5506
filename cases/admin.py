"""The case queue: cases ranked by highest score then value at risk, worked and closed in bulk."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import SimpleListFilter
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from .errors import CasePermissionDenied, CaseTransitionError
from .models import Case, CaseEvent, CaseTransaction
from .services import (
    CLOSE_CASE_PERMISSIONS,
    CLOSED_STATUSES,
    OPEN_STATUSES,
    WORK_CASE_PERMISSIONS,
    apply_to_cases,
    change_case,
    check_case_transition,
)


class AgeFilter(SimpleListFilter):
    """Open cases past their SLA or due within a day."""

    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [("overdue", "SLA overdue"), ("due_24h", "SLA due within 24 h")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(status__in=OPEN_STATUSES, sla_due_at__lt=now)
        if self.value() == "due_24h":
            return queryset.filter(
                status__in=OPEN_STATUSES, sla_due_at__gte=now, sla_due_at__lt=now + timezone.timedelta(hours=24)
            )
        return queryset


class AssigneeFilter(SimpleListFilter):
    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        assignees = (
            Case.objects.filter(assignee__isnull=False)
            .order_by("assignee__username")
            .values_list("assignee_id", "assignee__username")
            .distinct()
        )
        return [("me", "me"), ("nobody", "nobody"), *((str(pk), name) for pk, name in assignees)]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=value) if value and value.isdigit() else queryset


class CountryFilter(SimpleListFilter):
    title = "country"
    parameter_name = "country"

    def lookups(self, request, model_admin):
        countries = Case.objects.order_by("country").values_list("country", flat=True).distinct()
        return [(country, country) for country in countries]

    def queryset(self, request, queryset):
        return queryset.filter(country=self.value()) if self.value() else queryset


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CaseTransactionInline(ReadOnlyInline):
    model = CaseTransaction
    fields = ["transaction_link", "invoice_date", "anomaly_score", "amount", "review_status", "added_at"]
    readonly_fields = fields
    ordering = ["-anomaly_score"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("transaction", "transaction__review")

    @admin.display(description="transaction")
    def transaction_link(self, link: CaseTransaction) -> str:
        url = reverse("admin:transactions_transaction_change", args=[link.transaction_id])
        return format_html('<a href="{}">{}</a>', url, link.transaction)

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
    readonly_fields = fields
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
    readonly_fields = [
        "customer_link",
        "opened_at",
        "closed_at",
        "sla_due_at",
        "first_alert_at",
        "last_alert_at",
        "alert_count",
        "value_at_risk",
        "max_score",
        "country",
    ]
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

    def _bulk(self, request, queryset, done: str, **change) -> None:
        changed, refused = apply_to_cases(queryset.values_list("pk", flat=True), actor=request.user, **change)
        self.message_user(request, f"{changed} {done}.", messages.SUCCESS)
        for reason, count in refused.items():
            self.message_user(request, f"{count} refused: {reason}", messages.WARNING)

    def has_work_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(WORK_CASE_PERMISSIONS)

    def has_close_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(CLOSE_CASE_PERMISSIONS)

    @admin.action(description="Assign to me", permissions=["work"])
    def assign_to_me(self, request, queryset):
        self._bulk(request, queryset, "assigned to you", assignee=request.user)

    @admin.action(description="Close as fraud (reviews: confirmed fraud)", permissions=["close"])
    def close_as_fraud(self, request, queryset):
        self._bulk(request, queryset, "closed as fraud", status=Case.Status.CLOSED_FRAUD)

    @admin.action(description="Close as legitimate (reviews: false positive)", permissions=["close"])
    def close_as_legitimate(self, request, queryset):
        self._bulk(request, queryset, "closed as legitimate", status=Case.Status.CLOSED_LEGITIMATE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases are opened by grouping alerts

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the audit trail is kept whole
