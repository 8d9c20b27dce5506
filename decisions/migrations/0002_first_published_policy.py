from django.db import migrations


def create_first_policy(apps, schema_editor):
    """Exactly one policy is always published: the first carries Radar's default thresholds and no rules."""
    Policy = apps.get_model("decisions", "Policy")
    if not Policy.objects.filter(status="published").exists():
        Policy.objects.create(name="thresholds only (Radar's defaults)", status="published", review_at=65, block_at=75)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0001_initial")]

    operations = [migrations.RunPython(create_first_policy, migrations.RunPython.noop)]
