"""Formerly created the scoring schedule; `manage.py setup_periodic_tasks` creates it now.

Kept (as a no-op) so that databases migrated before keep a consistent migration history.
"""

from django.db import migrations

class Migration(migrations.Migration):
    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("detection", "0003_analyst_group"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
