"""The review list and page: status, assignee and note, every change kept as a ReviewEvent."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin import ShowFacets
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin_mixins import ReadOnlyInline
from transactions.admin import TransactionLinkMixin, exact_transaction_search

from ..models import Review, ReviewEvent
from ..services import ReviewTransitionError, change_review, check_transition
from .actions import ReviewActionsMixin
from .filters import ReviewAssignedFilter


class ReviewEventInline(ReadOnlyInline):
    model = ReviewEvent
    fields = ["at", "actor", "from_status", "to_status", "analyst", "note"]


class ReviewForm(forms.ModelForm):
    class Meta:
        model = Review
        fields = ["transaction", "status", "analyst", "note"]

    def clean(self):
        cleaned = super().clean()
        before = self.initial.get("status", Review.Status.NEW) if self.instance.pk else Review.Status.NEW
        if "status" in cleaned:
            try:
                check_transition(before, cleaned["status"])
            except ReviewTransitionError as exc:
                self.add_error("status", ValidationError(str(exc)))
        return cleaned


@admin.register(Review)
class ReviewAdmin(TransactionLinkMixin, ReviewActionsMixin, admin.ModelAdmin):
    form = ReviewForm
    list_display = ["transaction_link", "customer", "country", "status", "analyst", "updated_at", "closed_at"]
    list_display_links = ["status"]
    list_select_related = ["transaction", "analyst"]
    list_filter = ["status", ReviewAssignedFilter]
    search_fields = ["=transaction__invoice_no", "=transaction__customer__customer_id"]
    search_help_text = "An exact InvoiceNo or CustomerID."
    raw_id_fields = ["transaction"]
    readonly_fields = ["created_at", "updated_at", "closed_at", "transaction_summary"]
    inlines = [ReviewEventInline]
    show_full_result_count = False
    show_facets = ShowFacets.NEVER

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "transaction"] if obj else self.readonly_fields

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        if not search_term.strip():
            return queryset, False
        condition = exact_transaction_search(
            search_term, invoice_field="transaction__invoice_no", customer_field="transaction__customer_id"
        )
        return queryset.filter(condition), False

    @admin.display(description="CustomerID")
    def customer(self, review: Review):
        return review.transaction.customer_id

    @admin.display(description="country")
    def country(self, review: Review) -> str:
        return review.transaction.country

    @admin.display(description="transaction")
    def transaction_summary(self, review: Review) -> str:
        row = review.transaction
        return format_html(
            '<a href="{}">{}</a>: {} x {} on {} by customer {} ({})',
            reverse("admin:transactions_transaction_change", args=[row.pk]),
            row.invoice_no,
            row.quantity,
            row.stock_code,
            row.invoice_date,
            row.customer_id,
            row.country,
        )

    def save_model(self, request: HttpRequest, obj: Review, form, change: bool) -> None:
        """Save through the review service so the transition is checked and recorded."""
        note = form.cleaned_data.get("note", "")
        saved = change_review(
            obj.transaction_id,
            actor=request.user,
            status=form.cleaned_data["status"],
            analyst=form.cleaned_data.get("analyst"),
            note=note if note != form.initial.get("note", "") else None,
        )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("analyst", request.user.pk)
        return initial

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the audit trail is kept whole
