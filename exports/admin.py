"""The export log in the admin, read-only: nobody edits or deletes what was exported."""

from __future__ import annotations

from django.contrib import admin

from core.admin_mixins import ReadOnlyAdminMixin

from .models import ExportLog


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "file_format", "parameters"]
    list_filter = ["kind", "file_format"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    search_fields = ["user__username"]
