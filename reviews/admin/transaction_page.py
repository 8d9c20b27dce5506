"""The transaction page: the row's scores under each kept model version, its review, the customer's recent history."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse

from detection.fields import explanation_text, reasons_text
from detection.models import TransactionScore
from detection.selectors import recent_customer_history
from transactions.admin import TransactionAdmin
from transactions.models import Transaction

from ..selectors import review_with_events
from .actions import ReviewActionsMixin, review_status_label
from .filters import TransactionReviewStatusFilter

RECENT_HISTORY_ROWS = 20


def rounded(field: str, description: str, *, digits: int = 3):
    """An admin column showing `field` of a score rounded to `digits` decimals."""

    @admin.display(description=description)
    def show(self, score: TransactionScore) -> str:
        return f"{getattr(score, field):.{digits}f}"

    return show


class ScoreInline(admin.TabularInline):
    model = TransactionScore
    fk_name = "transaction"  # not original_transaction, the sale a cancellation undoes
    fields = [
        "model_version",
        "anomaly",
        "iso_forest",
        "iso_forest_flag",
        "autoencoder",
        "autoencoder_flag",
        "risk_score",
        "zscore_display",
        "kind",
        "reasons_display",
        "explanation_display",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-model_version_id"]

    anomaly = rounded("anomaly_score", "anomaly score")
    iso_forest = rounded("iso_forest_score", "Isolation Forest score")
    zscore_display = rounded("zscore", "ZScore", digits=2)

    @admin.display(description="autoencoder score")
    def autoencoder(self, score: TransactionScore) -> str:
        return f"{score.autoencoder_score:.3f} (MSE {score.autoencoder_mse:.3g})"

    @admin.display(description="explanation")
    def explanation_display(self, score: TransactionScore) -> str:
        return explanation_text(score.explanation)

    @admin.display(description="why flagged")
    def reasons_display(self, score: TransactionScore) -> str:
        return reasons_text(score.flag_reasons)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("model_version")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


admin.site.unregister(Transaction)


@admin.register(Transaction)
class ReviewedTransactionAdmin(ReviewActionsMixin, TransactionAdmin):
    list_display = [*TransactionAdmin.list_display, "review_status"]
    list_select_related = ["review"]
    list_filter = [*TransactionAdmin.list_filter, TransactionReviewStatusFilter]
    inlines = [ScoreInline]
    readonly_fields = [*TransactionAdmin.readonly_fields, "review_panel", "customer_history", "dashboard_link"]
    fieldsets = [
        (None, {"fields": [f for f in TransactionAdmin.readonly_fields if f != "id"]}),
        ("Review", {"fields": ["review_panel"]}),
        ("Customer", {"fields": ["dashboard_link", "customer_history"]}),
    ]

    def review_transaction_ids(self, queryset: QuerySet) -> list[int]:
        return list(queryset.values_list("pk", flat=True))

    def render_change_form(self, request, context, *args, **kwargs):
        # every field is read-only: loaded rows change only by ingest
        context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description="review")
    def review_status(self, row: Transaction) -> str:
        return review_status_label(getattr(row, "review", None))

    @admin.display(description="review")
    def review_panel(self, row: Transaction) -> str:
        review, events = review_with_events(row.pk)
        return render_to_string(
            "admin/reviews/review_panel.html",
            {"row": row, "review": review, "events": events, "add_url": reverse("admin:reviews_review_add")},
        )

    @admin.display(description="dashboard")
    def dashboard_link(self, row: Transaction) -> str:
        if row.customer_id is None:
            return "no CustomerID"
        return render_to_string(
            "admin/reviews/dashboard_link.html", {"url": reverse("dashboard:index"), "customer_id": row.customer_id}
        )

    @admin.display(description="recent history")
    def customer_history(self, row: Transaction) -> str:
        """The customer's latest transactions with their anomaly score under the active model (one query)."""
        if row.customer_id is None:
            return "no CustomerID"
        recent = recent_customer_history(row.customer_id, limit=RECENT_HISTORY_ROWS)
        return render_to_string("admin/reviews/customer_history.html", {"row": row, "recent": recent})
