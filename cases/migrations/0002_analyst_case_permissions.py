"""Analysts may view and work cases (assign, note, close); reopening a closed case is not given to them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ANALYST_GROUP = "Analyst"
CASE_PERMISSIONS = ["view_case", "change_case", "view_casetransaction", "view_caseevent"]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    app_config = apps.get_app_config("cases")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=ANALYST_GROUP)
    permissions = Permission.objects.filter(content_type__app_label="cases", codename__in=CASE_PERMISSIONS)
    assert permissions.count() == len(CASE_PERMISSIONS), "missing case permissions"
    group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=ANALYST_GROUP).first()
    if group:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="cases", codename__in=CASE_PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("detection", "0003_analyst_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
