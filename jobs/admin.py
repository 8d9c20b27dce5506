"""Admin for background jobs: a read-only list and page that reloads itself while the job runs.

Jobs are started where their work lives (Import batches -> Upload a CSV, Model versions -> Train
now, or the API), so this app never imports the apps whose work it runs.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import ShowFacets
from django.http import HttpRequest

from .models import BackgroundJob


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
