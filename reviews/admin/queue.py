"""The review queue: the active model's scored rows ranked by anomaly_score, with review status and actions."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import ShowFacets
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.admin_dates import IndexedDatesQuerySet
from detection.models import TransactionScore
from transactions.admin import TransactionLinkMixin, could_be_invoice_no, customer_id_term
from transactions.models import Transaction

from .actions import ReviewActionsMixin, review_status_label
from .filters import CountryFilter, DecisionFilter, ModelVersionFilter, ReviewStatusFilter, RiskScoreFilter
from .score_page import ScorePageMixin


@admin.register(TransactionScore)
class TransactionScoreAdmin(ScorePageMixin, TransactionLinkMixin, ReviewActionsMixin, admin.ModelAdmin):
    list_display = [
        "transaction_link",
        "customer_link",
        "invoice_date",
        "country",
        "anomaly_score_display",
        "kind",
        "iso_forest_flag",
        "autoencoder_flag",
        "is_common_anomaly",
        "risk_score",
        "decision_display",
        "review_status",
        "review_analyst",
    ]
    list_display_links = ["anomaly_score_display"]  # the first column links to the transaction
    list_select_related = ["transaction", "transaction__review__analyst", "decision"]
    list_filter = [
        ModelVersionFilter,
        ReviewStatusFilter,
        DecisionFilter,
        "is_flagged",
        "kind",
        "iso_forest_flag",
        "autoencoder_flag",
        "is_common_anomaly",
        RiskScoreFilter,
        CountryFilter,
    ]
    date_hierarchy = "invoice_date"
    ordering = ["-anomaly_score", "id"]  # matches the score_rank index
    search_fields = ["=customer_id", "=transaction__invoice_no"]
    search_help_text = "An exact CustomerID or InvoiceNo."
    raw_id_fields = ["transaction", "model_version"]
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return IndexedDatesQuerySet(model=queryset.model, query=queryset.query, using=queryset.db)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """Exact InvoiceNo or CustomerID; a UNION of two indexed lookups (SQLite will not use indexes for the OR)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        customer_id = customer_id_term(term)
        if not could_be_invoice_no(term):  # too long for an InvoiceNo: only a CustomerID can match
            return (queryset.none() if customer_id is None else queryset.filter(customer_id=customer_id)), False
        # The matching keys are resolved first (an invoice or a customer has at most a few thousand
        # rows): as nested subqueries, PostgreSQL can pick nested loops over unanalysed tables and run
        # for minutes.
        invoice_rows = list(Transaction.objects.filter(invoice_no=term).values_list("pk", flat=True))
        matches = queryset.filter(transaction_id__in=invoice_rows).order_by().values_list("pk", flat=True)
        if customer_id is not None:
            matches = matches.union(queryset.filter(customer_id=customer_id).order_by().values_list("pk", flat=True))
        return queryset.filter(pk__in=list(matches)), False

    @admin.display(description="customer", ordering="customer_id")
    def customer_link(self, score: TransactionScore) -> str:
        url = reverse("profiles:customer", args=[score.customer_id])
        return format_html('<a href="{}" title="Customer profile">{}</a>', url, score.customer_id)

    @admin.display(description="anomaly score", ordering="-anomaly_score")
    def anomaly_score_display(self, score: TransactionScore) -> str:
        return f"{score.anomaly_score:.3f}"

    @admin.display(description="decision")
    def decision_display(self, score: TransactionScore) -> str:
        decision = getattr(score, "decision", None)  # None before the rows are decided
        return (
            format_html('<span title="{}">{}</span>', "; ".join(decision.reasons), decision.decision)
            if decision
            else "-"
        )

    @admin.display(description="review")
    def review_status(self, score: TransactionScore) -> str:
        return review_status_label(getattr(score.transaction, "review", None))

    @admin.display(description="analyst")
    def review_analyst(self, score: TransactionScore) -> str:
        review = getattr(score.transaction, "review", None)
        return str(review.analyst) if review and review.analyst else ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # scores are written by training and scoring only

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
