"""The transaction's other listed columns on the score table, so the grid filters and sorts without a join.

The columns are added nullable (ALTER TABLE ADD COLUMN, no rewrite), filled from the transactions in
one UPDATE ... FROM, then made NOT NULL, as the model defines them; quantity gets an index for the
grid's filter, and the table's planner statistics are refreshed. SQLite cannot add NOT NULL to a
column: it rebuilds the table, once for the five columns rather than once per column (on the real
file's 401,604 rows, 7-11 s for this migration instead of 21 s; the UPDATE takes 2.6 s of it).
"""

from django.db import migrations, models

COPIED = ("invoice_no", "stock_code", "description", "quantity", "unit_price")


def copy_transaction_columns(apps, schema_editor):
    """Fill the copied columns of every score row from its transaction (one UPDATE ... FROM)."""
    score_table = apps.get_model("detection", "TransactionScore")._meta.db_table
    transaction_table = apps.get_model("transactions", "Transaction")._meta.db_table
    quote = schema_editor.connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = source.{quote(name)}" for name in COPIED)
    schema_editor.execute(
        f"UPDATE {quote(score_table)} SET {assignments} "
        f"FROM {quote(transaction_table)} AS source WHERE source.id = {quote(score_table)}.transaction_id"
    )


def require_the_columns(apps, schema_editor):
    """Make the copied columns NOT NULL: one table rebuild on SQLite, ALTER COLUMN elsewhere."""
    model = apps.get_model("detection", "TransactionScore")
    changes = []
    for name in COPIED:
        field = FIELDS[name]()
        field.set_attributes_from_name(name)
        changes.append((model._meta.get_field(name), field))
    if schema_editor.connection.vendor == "sqlite":
        schema_editor._remake_table(model, alter_fields=changes)  # what alter_field runs, for every column at once
    else:
        for old, new in changes:
            schema_editor.alter_field(model, old, new)


def refresh_statistics(apps, schema_editor):
    """ANALYZE the score table as core.bulk_load.refresh_statistics does after a write: SQLite's rebuild
    dropped its statistics, and the planner picks worse indexes without them (a customer's ranked
    anomalies through a sort index, about 500 ms instead of 2 ms)."""
    connection = schema_editor.connection
    table = connection.ops.quote_name(apps.get_model("detection", "TransactionScore")._meta.db_table)
    if connection.vendor == "sqlite":
        schema_editor.execute("PRAGMA analysis_limit = 1000")
    if connection.vendor in ("sqlite", "postgresql"):
        schema_editor.execute(f"ANALYZE {table}")


def nullable(field: models.Field) -> models.Field:
    field.null = True
    return field


FIELDS = {
    "invoice_no": lambda: models.CharField(max_length=20, help_text="InvoiceNo (C... for a cancellation)."),
    "stock_code": lambda: models.CharField(max_length=32),
    "description": lambda: models.CharField(max_length=255, blank=True),
    "quantity": lambda: models.IntegerField(help_text="Negative for cancellations."),
    "unit_price": lambda: models.DecimalField(max_digits=12, decimal_places=3),
}


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0011_anomaly_score_help"),
        ("transactions", "0004_field_help_texts"),
    ]

    operations = [
        *(
            migrations.AddField(model_name="transactionscore", name=name, field=nullable(FIELDS[name]()))
            for name in COPIED
        ),
        migrations.RunPython(copy_transaction_columns, migrations.RunPython.noop, elidable=True),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="transactionscore", name=name, field=FIELDS[name]()) for name in COPIED
            ],
            database_operations=[migrations.RunPython(require_the_columns, migrations.RunPython.noop)],
        ),
        migrations.AddIndex(
            model_name="transactionscore",
            index=models.Index(fields=["quantity", "model_version", "transaction_id"], name="score_quantity"),
        ),
        migrations.RunPython(refresh_statistics, migrations.RunPython.noop, elidable=True),
    ]
