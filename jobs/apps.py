from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Background work run by the django-q2 worker: the job rows, their runner and their admin."""

    name = "jobs"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from .schedules import PeriodicTask, register_periodic_task
        from .signals import recover_when_a_worker_starts

        post_spawn.connect(recover_when_a_worker_starts, dispatch_uid="jobs.recover_when_a_worker_starts")
        register_periodic_task(
            PeriodicTask("Recover dead jobs", "jobs.tasks.recover_dead_jobs_task", minutes=1, enabled=True)
        )
