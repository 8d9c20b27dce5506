"""Admin for analysts: the review queue over scores, reviews with their history, model versions.

Also replaces the transaction admin with one whose page shows the row's scores, review and the
customer's recent history. Every review write goes through detection.reviews.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ShowFacets, SimpleListFilter
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from transactions.admin import IndexedDatesQuerySet, TransactionAdmin, exact_transaction_search
from transactions.models import Transaction

from . import reviews, services
from .jobs import queue_training
from .models import ModelVersion, Review, ReviewEvent, TransactionScore

RECENT_HISTORY_ROWS = 20


# Filters ---------------------------------------------------------------------------------------


class ModelVersionFilter(SimpleListFilter):
    """The scores of one model version: the active one unless another is chosen."""

    title = "model version"
    parameter_name = "version"

    def lookups(self, request, model_admin):
        versions = ModelVersion.objects.filter(status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.RETIRED])
        return [(str(v.pk), f"v{v.pk}{' (active)' if v.is_active else ''}") for v in versions.order_by("-pk")[:10]]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(model_version_id=self.value())
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


class RiskScoreFilter(SimpleListFilter):
    title = "RiskScore"
    parameter_name = "risk_score"

    def lookups(self, request, model_admin):
        return [("1", "1 (ZScore > 3 or autoencoder > 0.85)"), ("0", "0")]

    def queryset(self, request, queryset):
        return queryset.filter(risk_score=float(self.value())) if self.value() in {"0", "1"} else queryset


class CountryFilter(SimpleListFilter):
    """Countries read from the transactions' country index (the score table has no country-first index)."""

    title = "country"
    parameter_name = "country"

    def lookups(self, request, model_admin):
        countries = Transaction.objects.order_by("country").values_list("country", flat=True).distinct()
        return [(country, country) for country in countries]

    def queryset(self, request, queryset):
        return queryset.filter(country=self.value()) if self.value() else queryset


class AssignedFilter(SimpleListFilter):
    title = "assigned to"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "me"), ("nobody", "nobody")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(analyst=request.user)
        if self.value() == "nobody":
            return queryset.filter(analyst__isnull=True)
        return queryset


# Review actions, shared by the score, review and transaction changelists -----------------------


class ReviewActionsMixin:
    """Bulk review actions; `review_transaction_ids(queryset)` maps the selection to transactions."""

    actions = ["mark_investigating", "mark_confirmed_fraud", "mark_false_positive", "assign_to_me"]

    def review_transaction_ids(self, queryset: QuerySet) -> list[int]:
        return list(queryset.values_list("transaction_id", flat=True))

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(["detection.add_review", "detection.change_review"])

    def _apply(self, request: HttpRequest, queryset: QuerySet, done: str, **change) -> None:
        outcome = reviews.apply_review_change(self.review_transaction_ids(queryset), actor=request.user, **change)
        self.message_user(request, f"{len(outcome.changed)} {done}.", messages.SUCCESS)
        if outcome.refused:
            reasons = ", ".join(f"{count} {reason}" for reason, count in outcome.refused.most_common())
            self.message_user(request, f"Refused (not an allowed transition): {reasons}.", messages.WARNING)

    @admin.action(description="Mark as investigating", permissions=["review"])
    def mark_investigating(self, request, queryset):
        self._apply(request, queryset, "marked investigating", status=Review.Status.INVESTIGATING)

    @admin.action(description="Mark as confirmed fraud", permissions=["review"])
    def mark_confirmed_fraud(self, request, queryset):
        self._apply(request, queryset, "marked confirmed fraud", status=Review.Status.CONFIRMED_FRAUD)

    @admin.action(description="Mark as false positive", permissions=["review"])
    def mark_false_positive(self, request, queryset):
        self._apply(request, queryset, "marked false positive", status=Review.Status.FALSE_POSITIVE)

    @admin.action(description="Assign to me", permissions=["review"])
    def assign_to_me(self, request, queryset):
        self._apply(request, queryset, "assigned to you", analyst=request.user)


def review_status_label(review: Review | None) -> str:
    return review.get_status_display() if review else Review.Status.NEW.label


def explanation_text(explanation: list[dict] | None) -> str:
    """The explanation list as 'Feature=value (share %)', most important first."""
    return ", ".join(f"{item['feature']}={item['value']:g} ({item['share']:.0%})" for item in explanation or [])


# Scores: the review queue ------------------------------------------------------------------------


@admin.register(TransactionScore)
class TransactionScoreAdmin(ReviewActionsMixin, admin.ModelAdmin):
    list_display = [
        "transaction_link",
        "customer_id",
        "invoice_date",
        "country",
        "anomaly_score_display",
        "iso_forest_flag",
        "autoencoder_flag",
        "is_common_anomaly",
        "risk_score",
        "review_status",
        "review_analyst",
    ]
    list_display_links = ["anomaly_score_display"]  # the first column links to the transaction
    list_select_related = ["transaction", "transaction__review__analyst"]
    list_filter = [
        ModelVersionFilter,
        ReviewStatusFilter,
        "is_flagged",
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
    readonly_fields = ["explanation_display"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return IndexedDatesQuerySet(model=queryset.model, query=queryset.query, using=queryset.db)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        """Exact InvoiceNo or CustomerID; a UNION of two indexed lookups (SQLite will not use indexes for the OR)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        invoice_rows = Transaction.objects.filter(invoice_no=term).values("pk")
        matches = queryset.filter(transaction_id__in=invoice_rows).order_by().values("pk")
        if term.isdigit():
            matches = matches.union(queryset.filter(customer_id=int(term)).order_by().values("pk"))
        return queryset.filter(pk__in=matches), False

    @admin.display(description="transaction", ordering="transaction_id")
    def transaction_link(self, score: TransactionScore) -> str:
        url = reverse("admin:transactions_transaction_change", args=[score.transaction_id])
        return format_html('<a href="{}">{}</a>', url, score.transaction)

    @admin.display(description="anomaly score", ordering="-anomaly_score")
    def anomaly_score_display(self, score: TransactionScore) -> str:
        return f"{score.anomaly_score:.3f}"

    @admin.display(description="review")
    def review_status(self, score: TransactionScore) -> str:
        return review_status_label(getattr(score.transaction, "review", None))

    @admin.display(description="analyst")
    def review_analyst(self, score: TransactionScore) -> str:
        review = getattr(score.transaction, "review", None)
        return str(review.analyst) if review and review.analyst else ""

    @admin.display(description="explanation")
    def explanation_display(self, score: TransactionScore) -> str:
        return explanation_text(score.explanation)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # scores are written by training and scoring only

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# Reviews -----------------------------------------------------------------------------------------


class ReviewEventInline(admin.TabularInline):
    model = ReviewEvent
    fields = ["at", "actor", "from_status", "to_status", "analyst", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReviewForm(forms.ModelForm):
    class Meta:
        model = Review
        fields = ["transaction", "status", "analyst", "note"]

    def clean(self):
        cleaned = super().clean()
        before = self.initial.get("status", Review.Status.NEW) if self.instance.pk else Review.Status.NEW
        if "status" in cleaned:
            try:
                reviews.check_transition(before, cleaned["status"])
            except reviews.ReviewTransitionError as exc:
                self.add_error("status", ValidationError(str(exc)))
        return cleaned


@admin.register(Review)
class ReviewAdmin(ReviewActionsMixin, admin.ModelAdmin):
    form = ReviewForm
    list_display = ["transaction_link", "customer", "country", "status", "analyst", "updated_at", "closed_at"]
    list_display_links = ["status"]
    list_select_related = ["transaction", "analyst"]
    list_filter = ["status", AssignedFilter]
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

    @admin.display(description="transaction", ordering="transaction_id")
    def transaction_link(self, review: Review) -> str:
        url = reverse("admin:transactions_transaction_change", args=[review.transaction_id])
        return format_html('<a href="{}">{}</a>', url, review.transaction)

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
        saved = reviews.change_review(
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


# Model versions ----------------------------------------------------------------------------------


class TrainForm(forms.Form):
    contamination = forms.FloatField(min_value=0.001, max_value=0.499, initial=0.02)
    epochs = forms.IntegerField(min_value=1, max_value=500, initial=20)
    seed = forms.IntegerField(initial=0)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "is_active",
        "created_at",
        "finished_at",
        "duration",
        "training_rows",
        "flagged",
        "started_by",
    ]
    list_filter = ["status"]
    list_select_related = ["started_by"]
    readonly_fields = [field.name for field in ModelVersion._meta.fields]
    actions = ["activate_version"]

    @admin.display(description="duration")
    def duration(self, version: ModelVersion) -> str:
        return "" if version.duration_seconds is None else f"{version.duration_seconds:.1f} s"

    @admin.display(description="flagged")
    def flagged(self, version: ModelVersion):
        return version.metrics.get("flagged_either", "")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from "Train now", the API or train_models

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj and obj.is_active)

    def has_train_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("detection.add_modelversion")

    @admin.action(description="Activate the selected version (its scores must be kept)", permissions=["change"])
    def activate_version(self, request: HttpRequest, queryset: QuerySet) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = queryset.get()
        if version.status not in {ModelVersion.Status.READY, ModelVersion.Status.RETIRED}:
            self.message_user(request, f"v{version.pk} is {version.status}: it cannot be activated.", messages.ERROR)
            return
        if not version.scores.exists():
            self.message_user(request, f"v{version.pk} has no stored scores any more.", messages.ERROR)
            return
        services.activate(version)
        self.message_user(request, f"v{version.pk} is now the active model.", messages.SUCCESS)

    def get_urls(self):
        train = path("train/", self.admin_site.admin_view(self.train_view), name="detection_modelversion_train")
        return [train, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra = {"can_train": self.has_train_permission(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def train_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a training run (POST); refuse while another one is live."""
        if request.method != "POST" or not self.has_train_permission(request):
            raise PermissionDenied("You may not start a training run.")
        form = TrainForm(request.POST)
        changelist = reverse("admin:detection_modelversion_changelist")
        if not form.is_valid():
            errors = "; ".join(f"{name}: {' '.join(error)}" for name, error in form.errors.items())
            self.message_user(request, f"Training not started: {errors}", messages.ERROR)
            return HttpResponseRedirect(changelist)
        try:
            job = queue_training(user=request.user, **form.cleaned_data)
        except services.TrainingInProgress as exc:
            self.message_user(request, f"Training not started: {exc}.", messages.ERROR)
            return HttpResponseRedirect(changelist)
        self.message_user(request, f"Training queued as job #{job.pk} ({job.status}).", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:transactions_backgroundjob_change", args=[job.pk]))


# Transactions, with their scores, review and the customer's history ---------------------------------


class ScoreInline(admin.TabularInline):
    model = TransactionScore
    fields = [
        "model_version",
        "anomaly",
        "iso_forest",
        "iso_forest_flag",
        "autoencoder",
        "autoencoder_flag",
        "risk_score",
        "zscore_display",
        "explanation_display",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-model_version_id"]

    @admin.display(description="anomaly score")
    def anomaly(self, score: TransactionScore) -> str:
        return f"{score.anomaly_score:.3f}"

    @admin.display(description="Isolation Forest score")
    def iso_forest(self, score: TransactionScore) -> str:
        return f"{score.iso_forest_score:.3f}"

    @admin.display(description="autoencoder score")
    def autoencoder(self, score: TransactionScore) -> str:
        return f"{score.autoencoder_score:.3f} (MSE {score.autoencoder_mse:.3g})"

    @admin.display(description="ZScore")
    def zscore_display(self, score: TransactionScore) -> str:
        return f"{score.zscore:.2f}"

    @admin.display(description="explanation")
    def explanation_display(self, score: TransactionScore) -> str:
        return explanation_text(score.explanation)

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
        review = Review.objects.filter(transaction=row).select_related("analyst").first()
        if review is None:
            url = reverse("admin:detection_review_add") + f"?transaction={row.pk}"
            return format_html('new (no review yet) &mdash; <a href="{}">review it</a>', url)
        events = review.events.select_related("actor").order_by("at", "id")
        history = format_html_join(
            "",
            "<li>{}: {} &rarr; {} by {}{}</li>",
            (
                (event.at.strftime("%Y-%m-%d %H:%M"), event.from_status, event.to_status, event.actor, _note(event))
                for event in events
            ),
        )
        return format_html(
            '<a href="{}">{}</a>, analyst {}<br>{}<ul>{}</ul>',
            reverse("admin:detection_review_change", args=[review.pk]),
            review.get_status_display(),
            review.analyst or "none",
            review.note,
            history,
        )

    @admin.display(description="dashboard")
    def dashboard_link(self, row: Transaction) -> str:
        if row.customer_id is None:
            return "no CustomerID"
        return format_html('<a href="/?customer={}">Customer {} on the dashboard</a>', row.customer_id, row.customer_id)

    @admin.display(description="recent history")
    def customer_history(self, row: Transaction) -> str:
        """The customer's latest transactions with their anomaly score under the active model (one query)."""
        if row.customer_id is None:
            return "no CustomerID"
        active_score = TransactionScore.objects.filter(
            transaction_id=OuterRef("pk"), model_version__is_active=True
        ).values("anomaly_score")[:1]
        recent = (
            Transaction.objects.filter(customer_id=row.customer_id)
            .order_by("-invoice_date", "-id")
            .annotate(anomaly_score=Subquery(active_score))[:RECENT_HISTORY_ROWS]
        )
        rows = format_html_join(
            "",
            '<tr{}><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    mark_safe(' style="font-weight: bold"') if item.pk == row.pk else "",
                    reverse("admin:transactions_transaction_change", args=[item.pk]),
                    item.invoice_no,
                    item.invoice_date.strftime("%Y-%m-%d %H:%M"),
                    item.stock_code,
                    item.quantity,
                    item.unit_price,
                    item.country,
                    "" if item.anomaly_score is None else f"{item.anomaly_score:.3f}",
                )
                for item in recent
            ),
        )
        return format_html(
            "<table><thead><tr><th>InvoiceNo</th><th>date</th><th>StockCode</th><th>Quantity</th>"
            "<th>UnitPrice</th><th>Country</th><th>anomaly score</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


def _note(event: ReviewEvent) -> str:
    return f": {event.note}" if event.note else ""
