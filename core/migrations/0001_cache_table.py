"""Create the database cache table(s) named in CACHES, so `migrate` (and the test database) has them."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
