"""Admin for loaded data (the review workflow extends it in the detection app)."""

from django.contrib import admin

from .models import Customer, ImportBatch, QuarantinedRow, Transaction


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "file_name", "status", "started_at", "rows_read", "rows_loaded", "rows_quarantined"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in ImportBatch._meta.fields]


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
    date_hierarchy = "invoice_date"
    raw_id_fields = ["customer", "batch"]
    show_full_result_count = False
