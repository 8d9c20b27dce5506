"""Four fewer indexes on the score table: each one cost every training run's write and every pruning.

The grid reads one index per sort key in either direction (detection.grid.tiebreaker); the model
version's own foreign-key index duplicated the unique (model_version, transaction) index's prefix.
Dropping that index directly (rather than AlterField, which rebuilds the whole table on SQLite).
"""

import django.db.models.deletion
from django.db import migrations, models

FOREIGN_KEY_INDEX = "detection_transactionscore_model_version_id_de5e9bbe"


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0009_daily_score_counts"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="transactionscore", name="score_rank_asc"),
        migrations.RemoveIndex(model_name="transactionscore", name="score_spent_asc"),
        migrations.RemoveIndex(model_name="transactionscore", name="score_date_desc"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="transactionscore",
                    name="model_version",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scores",
                        to="detection.modelversion",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{FOREIGN_KEY_INDEX}"',
                    reverse_sql=f'CREATE INDEX "{FOREIGN_KEY_INDEX}" ON "detection_transactionscore" ("model_version_id")',
                ),
            ],
        ),
    ]
