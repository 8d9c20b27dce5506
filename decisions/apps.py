from django.apps import AppConfig


class DecisionsConfig(AppConfig):
    """Policies of rules, lists and thresholds that turn scores into approve / review / block."""

    name = "decisions"
    verbose_name = "Decisions (policies, rules, lists)"

    def ready(self) -> None:
        from jobs.schedules import PeriodicTask, register_periodic_task

        # Newly scored rows (a new model, new transactions) get their decision within a minute.
        register_periodic_task(
            PeriodicTask("Decide new scores", "decisions.tasks.decide_undecided", minutes=1, enabled=True)
        )
