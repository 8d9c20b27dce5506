"""BackgroundJob moves to the jobs app: removed from this app's state only; its table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0002_backgroundjob"),
        ("detection", "0004_scoring_schedule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="BackgroundJob")]),
    ]
