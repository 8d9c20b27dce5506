"""Admin for named lists (entries, CSV import, protected deletion) and the read-only audit log."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin_mixins import ReadOnlyAdminMixin
from core.errors import InvalidInput

from .. import conditions, selectors, services
from ..models import AuditEvent, ListEntry, ValueList


class ListEntryInlineForm(forms.ModelForm):
    class Meta:
        model = ListEntry
        fields = ["value", "expires_at"]

    def clean_value(self):
        kind = self.instance.list.kind if self.instance.list_id else getattr(self, "list_kind", None)
        try:
            return str(conditions.list_value(kind, self.cleaned_data["value"])) if kind else self.cleaned_data["value"]
        except ValueError as exc:
            raise forms.ValidationError(str(exc))


class ListEntryInline(admin.TabularInline):
    model = ListEntry
    form = ListEntryInlineForm
    fields = ["value", "expires_at", "added_by", "added_at"]
    readonly_fields = ["added_by", "added_at"]
    extra = 1

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.list_kind = obj.kind if obj else None
        return formset


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A CSV whose first column holds the values (a header row is skipped).")
    expires_at = forms.DateTimeField(required=False, help_text="Optional: when the imported entries stop counting.")


@admin.register(ValueList)
class ValueListAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "entry_count", "description"]
    list_filter = ["kind"]
    search_fields = ["name", "entries__value"]
    inlines = [ListEntryInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.value_lists()

    @admin.display(description="entries", ordering="entry_count")
    def entry_count(self, value_list: ValueList) -> int:
        return value_list.entry_count

    def get_readonly_fields(self, request: HttpRequest, obj: ValueList | None = None):
        return ["name", "kind"] if obj is not None else []  # rules name the list; its kind types its values

    def save_model(self, request: HttpRequest, obj: ValueList, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.create_list(name=obj.name, kind=obj.kind, description=obj.description, user=request.user)
        obj.pk = created.pk

    def save_formset(self, request, form, formset, change):
        entries = formset.save(commit=False)
        for entry in entries:
            if entry.pk is None:
                entry.added_by = request.user
            entry.save()
        for entry in formset.deleted_objects:
            services.remove_list_entry(entry=entry, user=request.user)
        if entries:
            services.record(
                actor=request.user,
                action="update",
                obj=form.instance,
                summary=f"{len(entries)} entries saved in '{form.instance.name}' (admin)",
                after={"values": [entry.value for entry in entries]},
            )

    def get_deleted_objects(self, objs, request):
        """Refuse (as protected objects) lists that a published rule reads."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for value_list in objs:
            protected += [
                f"published {rule} (reads list '{value_list.name}')"
                for rule in selectors.published_rules_using(value_list)
            ]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: ValueList) -> None:
        services.delete_list(value_list=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for value_list in queryset:
            services.delete_list(value_list=value_list, user=request.user)

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("<int:pk>/import/", view, name="decisions_valuelist_import"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        url = reverse("admin:decisions_valuelist_import", args=[object_id])
        extra = {"subtitle": format_html('<a href="{}">Import entries from CSV</a>', url), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def import_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Add the values of an uploaded CSV to the list; bad values are form errors and nothing is added."""
        value_list = get_object_or_404(ValueList, pk=pk)
        if not request.user.has_perm("decisions.add_listentry"):
            raise PermissionDenied("You may not add list entries.")
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            text = form.cleaned_data["file"].read().decode("utf-8-sig", errors="replace")
            try:
                added = services.import_list_csv(
                    value_list=value_list, text=text, user=request.user, expires_at=form.cleaned_data["expires_at"]
                )
            except InvalidInput as exc:
                for name, problems in exc.errors.items():
                    form.add_error("expires_at" if name == "expires_at" else "file", problems)
            else:
                self.message_user(request, f"{added} new entries added to '{value_list.name}'.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:decisions_valuelist_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import entries into '{value_list.name}' ({value_list.kind})",
            "form": form,
            "opts": self.model._meta,
            "original": value_list,
        }
        return TemplateResponse(request, "admin/decisions/valuelist/import.html", context)


# --- Audit log -------------------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    list_select_related = ["actor"]
    search_fields = ["summary", "actor__username"]
    readonly_fields = ["at", "actor", "action", "object_type", "object_id", "summary", "before", "after"]
