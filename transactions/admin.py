"""Admin for loaded data: import batches (with the upload form), quarantined rows, customers, transactions.

The reviews app extends the transaction page with its scores and review.

The changelists stay fast on 500k rows: no full counts, indexed filters and ordering, exact-match
search that can use the indexes, and a date hierarchy that probes the date index instead of
truncating every row's date.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import ShowFacets
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.admin_dates import IndexedDatesQuerySet
from core.admin_mixins import ChangelistPageMixin
from core.errors import ApplicationError

from .models import MAX_CUSTOMER_ID, Customer, ImportBatch, QuarantinedRow, Transaction
from .uploads import UPLOAD_PERMISSIONS, UploadError, queue_ingest


def customer_id_term(term: str) -> int | None:
    """The search term as a CustomerID, or None when it cannot be one (not ASCII digits, or out of range)."""
    term = term.strip()
    if not (term.isascii() and term.isdigit()) or len(term) > len(str(MAX_CUSTOMER_ID)):
        return None
    value = int(term)
    return value if value <= MAX_CUSTOMER_ID else None


def could_be_invoice_no(term: str) -> bool:
    """Whether `term` fits the InvoiceNo column at all (a longer one matches no row: no need to ask)."""
    return len(term.strip()) <= Transaction._meta.get_field("invoice_no").max_length


def exact_transaction_search(term: str, *, invoice_field: str = "invoice_no", customer_field: str = "customer_id") -> Q:
    """Return the filter for a search term: an exact InvoiceNo, or also a CustomerID when it can be one."""
    term = term.strip()
    condition = Q(**{invoice_field: term}) if could_be_invoice_no(term) else Q(pk__in=[])
    customer_id = customer_id_term(term)
    if customer_id is not None:
        condition |= Q(**{customer_field: customer_id})
    return condition


class TransactionLinkMixin:
    """The `transaction_link` column for rows with a `transaction`: it, linked to its admin page."""

    @admin.display(description="transaction", ordering="transaction_id")
    def transaction_link(self, row) -> str:
        url = reverse("admin:transactions_transaction_change", args=[row.transaction_id])
        return format_html('<a href="{}">{}</a>', url, row.transaction)


class UploadForm(forms.Form):
    file = forms.FileField(help_text="The E-Commerce Data CSV (or .csv.gz) with the usual eight columns.")


@admin.register(ImportBatch)
class ImportBatchAdmin(ChangelistPageMixin, admin.ModelAdmin):
    list_display = ["id", "file_name", "status", "started_at", "rows_read", "rows_loaded", "rows_quarantined"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in ImportBatch._meta.fields]
    changelist_page = "upload"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # batches come from ingest only

    def has_upload_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(UPLOAD_PERMISSIONS)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Show the upload form; on POST check, store and queue the ingest, then show its job."""
        if not self.has_upload_permission(request):
            raise PermissionDenied("You may not start ingests.")
        form = UploadForm()
        if request.method == "POST":
            too_big = int(request.META.get("CONTENT_LENGTH") or 0) > settings.MAX_UPLOAD_BYTES + 64 * 1024
            form = UploadForm(data={} if too_big else request.POST, files={} if too_big else request.FILES)
            if too_big:
                form.add_error(None, f"The upload is larger than the limit of {settings.MAX_UPLOAD_BYTES:,} bytes.")
            elif form.is_valid():
                try:
                    job = queue_ingest(form.cleaned_data["file"], user=request.user)
                except UploadError as exc:
                    form.add_error("file", str(exc))
                except ApplicationError as exc:  # the queue is down: nothing was started
                    form.add_error(None, exc.message)
                else:
                    self.message_user(request, f"Ingest queued as job #{job.pk} ({job.status}).", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:jobs_backgroundjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload a CSV to ingest",
            "form": form,
            "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
        }
        return TemplateResponse(request, "admin/transactions/importbatch/upload.html", context)


@admin.register(QuarantinedRow)
class QuarantinedRowAdmin(admin.ModelAdmin):
    list_display = ["batch", "line_number", "reason", "raw"]
    list_select_related = ["batch"]
    list_filter = ["batch"]
    search_fields = ["reason", "raw"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["customer_id", "country", "invoice_count", "line_count", "first_seen", "last_seen"]
    search_fields = ["customer_id"]
    list_filter = ["country"]


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = [
        "invoice_no",
        "stock_code",
        "description",
        "quantity",
        "unit_price",
        "invoice_date",
        "customer_id",
        "country",
    ]
    list_filter = ["is_cancellation", "country"]
    search_fields = ["=invoice_no", "=customer__customer_id"]
    search_help_text = "An exact InvoiceNo or CustomerID."
    date_hierarchy = "invoice_date"
    ordering = ["-invoice_date", "-id"]  # the txn_invoice_date index, read backwards
    raw_id_fields = ["customer", "batch"]
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    readonly_fields = [field.name for field in Transaction._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return IndexedDatesQuerySet(model=queryset.model, query=queryset.query, using=queryset.db)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(exact_transaction_search(search_term)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from ingest only
