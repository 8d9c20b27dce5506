"""The export log in the admin, read-only: nobody edits or deletes what was exported."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import ExportLog


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "file_format", "parameters"]
    list_filter = ["kind", "file_format"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    search_fields = ["user__username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
