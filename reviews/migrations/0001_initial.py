"""Review and ReviewEvent, moved here from the detection app with their tables as they are."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.moved_models import rename_content_types

forward, backward = rename_content_types("detection", "reviews", ["review", "reviewevent"])
STATUSES = [
    ("new", "New"),
    ("investigating", "Investigating"),
    ("confirmed_fraud", "Confirmed fraud"),
    ("false_positive", "False positive"),
]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("detection", "0005_move_reviews_to_reviews"),
        ("transactions", "0002_backgroundjob"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Review",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("status", models.CharField(choices=STATUSES, default="new", max_length=20)),
                        ("note", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("closed_at", models.DateTimeField(blank=True, help_text="When it was last confirmed or dismissed.", null=True)),
                        ("analyst", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="reviews", to=settings.AUTH_USER_MODEL)),
                        ("transaction", models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name="review", to="transactions.transaction")),
                    ],
                    options={
                        "db_table": "detection_review",
                        "ordering": ["-updated_at"],
                        "indexes": [
                            models.Index(fields=["status", "-updated_at"], name="review_status"),
                            models.Index(fields=["analyst", "status"], name="review_analyst"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ReviewEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("at", models.DateTimeField(db_index=True)),
                        ("from_status", models.CharField(choices=STATUSES, max_length=20)),
                        ("to_status", models.CharField(choices=STATUSES, max_length=20)),
                        ("note", models.TextField(blank=True, help_text="The note written with the change, if any.")),
                        ("actor", models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("analyst", models.ForeignKey(blank=True, help_text="The assignee after the change.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("review", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="events", to="reviews.review")),
                    ],
                    options={"db_table": "detection_reviewevent", "ordering": ["review", "at", "id"]},
                ),
            ]
        ),
        migrations.RunPython(forward, backward),
    ]
