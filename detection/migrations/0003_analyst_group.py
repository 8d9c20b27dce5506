"""The "Analyst" group: may view loaded data, scores and model versions, and add and change reviews.

It gets no delete permission and no add/change permission on model versions, scores or transactions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ANALYST_GROUP = "Analyst"
ANALYST_PERMISSIONS = {
    "transactions": ["view_customer", "view_transaction", "view_importbatch", "view_quarantinedrow"],
    "detection": [
        "view_modelversion",
        "view_transactionscore",
        "view_review",
        "add_review",
        "change_review",
        "view_reviewevent",
    ],
}


def create_analyst_group(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    for label in ANALYST_PERMISSIONS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=ANALYST_GROUP)
    for label, codenames in ANALYST_PERMISSIONS.items():
        permissions = Permission.objects.filter(content_type__app_label=label, codename__in=codenames)
        assert permissions.count() == len(codenames), f"missing permissions for {label}"
        group.permissions.add(*permissions)


def remove_analyst_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ANALYST_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("transactions", "0002_backgroundjob"),
        ("detection", "0002_review"),
    ]

    operations = [migrations.RunPython(create_analyst_group, remove_analyst_group)]
