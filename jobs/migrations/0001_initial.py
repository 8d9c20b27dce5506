"""BackgroundJob, moved here from the transactions app with its table (transactions_backgroundjob) as is."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.moved_models import rename_content_types

forward, backward = rename_content_types("transactions", "jobs", ["backgroundjob"])


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("transactions", "0003_move_backgroundjob_to_jobs"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BackgroundJob",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("ingest", "Ingest"), ("train", "Train"), ("score", "Score")], max_length=16)),
                        ("status", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")], default="queued", max_length=16)),
                        ("progress", models.FloatField(default=0.0, help_text="Fraction done, 0..1.")),
                        ("message", models.CharField(blank=True, help_text="The current stage, or the outcome.", max_length=255)),
                        ("error", models.TextField(blank=True)),
                        ("parameters", models.JSONField(blank=True, default=dict)),
                        ("result", models.JSONField(blank=True, default=dict)),
                        ("upload_path", models.CharField(blank=True, help_text="The stored upload an ingest reads.", max_length=500)),
                        ("task_id", models.CharField(blank=True, help_text="The django-q2 task id.", max_length=64)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("duration_seconds", models.FloatField(blank=True, null=True)),
                        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "transactions_backgroundjob",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["kind", "status"], name="job_kind_status")],
                    },
                ),
            ]
        ),
        migrations.RunPython(forward, backward),
    ]
