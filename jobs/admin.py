"""Admin for background jobs: a read-only list and page that reloads itself while the job runs.

Jobs are started where their work lives (Import batches -> Upload a CSV, Model versions -> Train
now, or the API), so this app never imports the apps whose work it runs.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import ShowFacets
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import BackgroundJob
from .recovery import settle


@admin.register(BackgroundJob)
class BackgroundJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "progress_percent",
        "message",
        "created_by",
        "created_at",
        "duration",
        "task_id",
    ]
    list_filter = ["kind", "status"]
    list_select_related = ["created_by"]
    readonly_fields = [field.name for field in BackgroundJob._meta.fields]
    show_facets = ShowFacets.NEVER
    actions = ["mark_failed"]

    def has_settle_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.change_backgroundjob")

    @admin.action(description="Mark the selected stuck runs failed (their worker died)", permissions=["settle"])
    def mark_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Settle queued or running jobs as their owner would after a crash; record who did it."""
        stuck = queryset.filter(status__in=[BackgroundJob.Status.QUEUED, BackgroundJob.Status.RUNNING])
        reason = f"marked failed by {request.user.get_username()} in the admin at {timezone.now():%Y-%m-%d %H:%M}"
        settled = [job.pk for job in stuck if settle(job, reason)]
        self.message_user(request, f"{len(settled)} job(s) settled: {', '.join(f'#{pk}' for pk in settled) or 'none'}.")

    @admin.display(description="progress")
    def progress_percent(self, job: BackgroundJob) -> str:
        return f"{job.progress:.0%}"

    @admin.display(description="duration")
    def duration(self, job: BackgroundJob) -> str:
        return "" if job.duration_seconds is None else f"{job.duration_seconds:.1f} s"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are started by the upload form, "Train now" or the API

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def render_change_form(self, request, context, *args, **kwargs):
        job = context.get("original")
        context["auto_refresh"] = job is not None and job.status in {"queued", "running"}
        return super().render_change_form(request, context, *args, **kwargs)
