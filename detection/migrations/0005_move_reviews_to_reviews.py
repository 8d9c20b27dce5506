"""Review and ReviewEvent move to the reviews app: removed from this app's state only; tables stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("detection", "0004_scoring_schedule")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ReviewEvent"), migrations.DeleteModel(name="Review")]
        ),
    ]
