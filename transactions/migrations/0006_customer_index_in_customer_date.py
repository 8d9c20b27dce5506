"""Drop the customer foreign key's own index: txn_customer_date starts with customer_id and serves it.

Only the index goes (SQLite would otherwise copy the whole table to alter the field); the name is
the one Django gave it on both databases.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "transactions_transaction_customer_id_a7fa6b0f"


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0005_fingerprint_unique_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="transaction",
                    name="customer",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="transactions",
                        to="transactions.customer",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "transactions_transaction" ("customer_id")',
                ),
            ],
        ),
    ]
