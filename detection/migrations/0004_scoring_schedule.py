"""A django-q2 schedule that scores new transactions every 15 minutes, created disabled.

django-q2 1.11.1's Schedule has no "enabled" field; its scheduler skips schedules with repeats = 0.
To enable it, set Repeats to -1 (forever) in the admin (Django Q > Scheduled tasks); set it back to
0 to disable it again. Change Minutes to change the interval.
"""

from django.db import migrations
from django.utils import timezone

SCHEDULE_NAME = "Score new transactions"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    if not Schedule.objects.filter(name=SCHEDULE_NAME).exists():
        Schedule.objects.create(
            name=SCHEDULE_NAME,
            func="detection.tasks.score_new_transactions",
            schedule_type="I",  # Schedule.MINUTES
            minutes=15,
            repeats=0,  # disabled until an admin sets -1
            next_run=timezone.now(),
        )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("detection", "0003_analyst_group"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
