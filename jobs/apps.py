from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Background work run by the django-q2 worker: the job rows, their runner and their admin."""

    name = "jobs"
