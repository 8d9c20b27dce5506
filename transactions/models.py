"""Tables for loaded data: customers, invoice lines, import batches, quarantined rows."""

from django.db import models

# Customer.customer_id is a PositiveIntegerField: this is its largest value on every database.
MAX_CUSTOMER_ID = 2**31 - 1


class Customer(models.Model):
    """A customer of the shop, keyed by the file's CustomerID."""

    customer_id = models.PositiveIntegerField(primary_key=True)
    country = models.CharField(max_length=64, help_text="Country of most of the customer's invoices.")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    invoice_count = models.PositiveIntegerField(default=0)
    line_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["customer_id"]

    def __str__(self) -> str:
        return str(self.customer_id)


class ImportBatch(models.Model):
    """One run of ingest over one file, with what happened to its rows."""

    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0, help_text="Exact copies of another row of the same file.")
    rows_existing = models.PositiveIntegerField(default=0, help_text="Rows already loaded by an earlier batch.")
    rows_quarantined = models.PositiveIntegerField(default=0)
    rows_without_customer = models.PositiveIntegerField(
        default=0, help_text="Loaded rows with no CustomerID: kept, never scored."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name} ({self.status})"


class Transaction(models.Model):
    """One invoice line of the source file."""

    invoice_no = models.CharField(max_length=20, help_text="InvoiceNo (C... for a cancellation).")
    stock_code = models.CharField(max_length=32)
    description = models.CharField(max_length=255, blank=True)
    quantity = models.IntegerField(help_text="Negative for cancellations.")
    invoice_date = models.DateTimeField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=3)
    # No index of its own: txn_customer_date starts with customer_id and serves its look-ups.
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    country = models.CharField(max_length=64)
    is_cancellation = models.BooleanField(default=False)
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="transactions")
    line_number = models.PositiveIntegerField(help_text="Line of the source file (the header is line 1).")
    fingerprint = models.BigIntegerField(
        help_text="Hash of the row's eight source fields: re-ingesting a row adds nothing."
    )

    class Meta:
        ordering = ["invoice_date", "id"]
        indexes = [
            models.Index(fields=["customer", "invoice_date"], name="txn_customer_date"),
            models.Index(fields=["invoice_no"], name="txn_invoice_no"),
            models.Index(fields=["invoice_date"], name="txn_invoice_date"),
            models.Index(fields=["country"], name="txn_country"),
        ]
        constraints = [
            # Written as an expression so that SQLite gets an index of its own (CREATE UNIQUE INDEX)
            # rather than the column's UNIQUE clause, which it cannot drop: core.bulk_load drops it for
            # a large load and creates it again, checking every row, once the rows are in. Both
            # databases index the bare column, which ON CONFLICT (fingerprint) can use.
            models.UniqueConstraint(models.F("fingerprint"), name="txn_fingerprint_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_no} {self.stock_code} x{self.quantity}"

    @property
    def total_spent(self):
        """Quantity times unit price, as a Decimal."""
        return self.quantity * self.unit_price


class QuarantinedRow(models.Model):
    """A source row that could not be loaded, kept with its reason so nothing is lost."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="quarantined_rows")
    line_number = models.PositiveIntegerField()
    raw = models.TextField()
    reason = models.CharField(max_length=255)

    class Meta:
        ordering = ["batch", "line_number"]

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason}"
