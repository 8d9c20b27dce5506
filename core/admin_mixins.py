"""Admin pieces several apps share: read-only inlines, a page under a changelist, one-row actions, list filters."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import SimpleListFilter
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under their parent, never added, changed or deleted there: every listed field is read-only."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return list(self.fields)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyAdminMixin:
    """A log in the admin: listed and viewed, never added, changed or deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ChangelistPageMixin:
    """One more admin page at `<changelist>/<page>/`, named `<app>_<model>_<page>`.

    The subclass sets `changelist_page` and defines `<page>_view(request)` and
    `has_<page>_permission(request)`; the changelist template gets `can_<page>` to offer the page.
    """

    changelist_page: str

    def get_urls(self) -> list:
        page = self.changelist_page
        view = self.admin_site.admin_view(getattr(self, f"{page}_view"))
        name = f"{self.opts.app_label}_{self.opts.model_name}_{page}"
        return [path(f"{page}/", view, name=name), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        page = self.changelist_page
        allowed = getattr(self, f"has_{page}_permission")(request)
        return super().changelist_view(request, extra_context={f"can_{page}": allowed, **(extra_context or {})})


def single_selected(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, task: str) -> Model | None:
    """The one selected row of an action that works on one row; None, with an error shown, for any other count."""
    if queryset.count() != 1:
        model_admin.message_user(request, f"Select exactly one {task}.", messages.ERROR)
        return None
    return queryset.get()


def one_row_action(task: str, **action_options: Any) -> Callable:
    """Decorate `method(model_admin, request, obj)` into an admin action (`action_options` as for
    admin.action) run on the one selected row; any other count shows "Select exactly one `task`."."""

    def decorate(method: Callable) -> Callable:
        @admin.action(**action_options)
        @functools.wraps(method)
        def action(model_admin, request: HttpRequest, queryset: QuerySet) -> None:
            obj = single_selected(model_admin, request, queryset, task)
            if obj is not None:
                method(model_admin, request, obj)

        return action

    return decorate


def change_action(description: str, permission: str, done: str, **change: Any) -> Callable:
    """An admin action passing `change` to its admin's `apply_change(request, queryset, done, **change)`;
    a callable value is called with the request first (`acting_user` for "assign to me")."""

    @admin.action(description=description, permissions=[permission])
    def action(model_admin, request: HttpRequest, queryset: QuerySet) -> None:
        values = {key: value(request) if callable(value) else value for key, value in change.items()}
        model_admin.apply_change(request, queryset, done, **values)

    return action


def acting_user(request: HttpRequest):
    return request.user


class PresetFilter(SimpleListFilter):
    """Fixed choices: `presets` maps each value to its label and to a function returning the Q it keeps
    (called each time, so a condition on the current time stays current)."""

    presets: dict[str, tuple[str, Callable[[], Q]]]

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(value, label) for value, (label, _) in self.presets.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        preset = self.presets.get(self.value())
        return queryset.filter(preset[1]()) if preset else queryset


class ColumnValuesFilter(SimpleListFilter):
    """Rows whose `parameter_name` column holds the chosen value; the choices are that column's distinct
    values in `values_from` (a table with an index on it)."""

    values_from: type[Model]

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        column = self.parameter_name
        values = self.values_from.objects.order_by(column).values_list(column, flat=True).distinct()
        return [(value, value) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.parameter_name: self.value()}) if self.value() else queryset


class AssignedFilter(SimpleListFilter):
    """Rows assigned to the user looking ("me") or to nobody; `user_field` names the assignee column."""

    user_field: str

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("me", "me"), ("nobody", "nobody")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "me":
            return queryset.filter(**{self.user_field: request.user})
        if self.value() == "nobody":
            return queryset.filter(**{f"{self.user_field}__isnull": True})
        return queryset
