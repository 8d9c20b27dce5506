"""The score page of the review queue: figures rounded for reading, the explanation once, and the review form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from detection.fields import explanation_text, reasons_text
from detection.models import TransactionScore

from ..models import Review
from ..selectors import review_with_events
from ..services import REVIEW_PERMISSIONS, UNSET, ReviewTransitionError, change_review


def precise(value: Any, digits: int) -> str:
    """`value` rounded to `digits` decimals, its full precision in the title (shown on hover)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return format_html('<span title="{}">{}</span>', repr(value), f"{value:,.{digits}f}")


def rounded_field(field: str, description: str, *, digits: int = 3):
    """A read-only admin field showing `field` rounded, with full precision on hover."""

    @admin.display(description=description)
    def show(self, score: TransactionScore) -> str:
        return precise(getattr(score, field), digits)

    return show


class ReviewForm(forms.Form):
    """Status, assignee and note of one transaction's review, as on the review page."""

    status = forms.ChoiceField(choices=Review.Status.choices)
    analyst = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username"),
        required=False,
        label="Assignee",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), required=False)


class ScorePageMixin:
    """The score change page: grouped, rounded fields and a review form that posts to `<pk>/review/`."""

    change_form_template = "admin/detection/transactionscore/change_form.html"
    fieldsets = [
        (None, {"fields": ["transaction_link", "model_version", "customer_id", "invoice_date", "country"]}),
        (
            "Scores",
            {
                "fields": [
                    "anomaly_score_rounded",
                    "iso_forest_rounded",
                    "autoencoder_rounded",
                    "risk_score_rounded",
                    "kind",
                    "flags",
                    "reasons_display",
                    "explanation_display",
                ]
            },
        ),
        (
            "Features",
            {
                "fields": [
                    "total_spent_rounded",
                    "hist_freq",
                    "zscore_rounded",
                    "price_deviation_rounded",
                    "transaction_hour",
                    "transaction_day",
                    "unusual_destination",
                    "quantity_spike",
                ]
            },
        ),
    ]

    anomaly_score_rounded = rounded_field("anomaly_score", "anomaly score")
    iso_forest_rounded = rounded_field("iso_forest_score", "Isolation Forest score")
    risk_score_rounded = rounded_field("risk_score", "RiskScore", digits=0)
    total_spent_rounded = rounded_field("total_spent", "TotalSpent", digits=2)
    zscore_rounded = rounded_field("zscore", "ZScore", digits=2)
    price_deviation_rounded = rounded_field("price_deviation", "PriceDeviation", digits=2)

    @admin.display(description="autoencoder score")
    def autoencoder_rounded(self, score: TransactionScore) -> str:
        return format_html("{} (MSE {})", precise(score.autoencoder_score, 3), precise(score.autoencoder_mse, 4))

    @admin.display(description="flagged by")
    def flags(self, score: TransactionScore) -> str:
        models = [
            name
            for name, flag in (("Isolation Forest", score.iso_forest_flag), ("autoencoder", score.autoencoder_flag))
            if flag
        ]
        return " and ".join(models) or "neither model"

    @admin.display(description="why flagged")
    def reasons_display(self, score: TransactionScore) -> str:
        return reasons_text(score.flag_reasons) or "not flagged"

    @admin.display(description="explanation")
    def explanation_display(self, score: TransactionScore) -> str:
        return explanation_text(score.explanation) or "not flagged, none stored"

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def get_urls(self) -> list:
        review = path(
            "<int:object_id>/review/",
            self.admin_site.admin_view(self.review_view),
            name="detection_transactionscore_review",
        )
        return [review, *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None) -> HttpResponse:
        score = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if score is not None:
            review, events = review_with_events(score.transaction_id)
            initial = {"status": review.status if review else Review.Status.NEW}
            if review is not None:
                initial.update(analyst=review.analyst_id, note=review.note)
            extra.update(
                review=review,
                review_events=events,
                review_form=ReviewForm(initial=initial) if self.has_review_permission(request) else None,
                review_url=reverse("admin:detection_transactionscore_review", args=[score.pk]),
                profile_customer=score.customer_id,
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def review_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """POST only: change the review through reviews.services, then back to the score page."""
        if request.method != "POST" or not self.has_review_permission(request):
            raise PermissionDenied
        score = get_object_or_404(TransactionScore, pk=object_id)
        back = reverse("admin:detection_transactionscore_change", args=[score.pk])
        form = ReviewForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Review not changed: {form.errors.as_text()}", messages.ERROR)
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        try:
            change_review(
                score.transaction_id,
                actor=request.user,
                status=data["status"],
                analyst=data["analyst"] if data["analyst"] is not None else UNSET,
                note=data["note"] or None,
            )
        except ReviewTransitionError as exc:
            self.message_user(request, f"Review not changed: {exc}", messages.ERROR)
        else:
            self.message_user(request, "Review saved.", messages.SUCCESS)
        return HttpResponseRedirect(back)

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(REVIEW_PERMISSIONS)
