"""Staff register webhook endpoints here; events and the delivery log are read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from core.admin_mixins import ReadOnlyAdminMixin

from .models import EVENT_TYPES, Delivery, Endpoint, Event
from .services import enable_endpoint, endpoint_errors


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="http(s) URL of a public host.")
    event_types = forms.MultipleChoiceField(choices=[(t, t) for t in EVENT_TYPES], widget=forms.CheckboxSelectMultiple)
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=True), help_text="At least 32 bytes; signs every delivery."
    )

    class Meta:
        model = Endpoint
        fields = ["url", "event_types", "secret", "description", "is_active"]

    def clean(self):
        cleaned = super().clean()
        errors = endpoint_errors(
            url=cleaned.get("url") or self.data.get("url", ""),
            event_types=cleaned.get("event_types") or [],
            secret=cleaned.get("secret") or "",
        )
        for field, problems in errors.items():
            if field not in self.errors:
                for problem in problems:
                    self.add_error(field, problem)
        return cleaned


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["event", "status", "attempts", "status_code", "duration_ms", "error", "next_attempt_at", "delivered_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-next_attempt_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event")


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "event_types", "is_active", "failing_since", "disabled_at", "created_by", "created_at"]
    list_filter = ["is_active"]
    readonly_fields = ["created_by", "created_at", "failing_since", "disabled_at"]
    actions = ["enable"]

    def save_model(self, request: HttpRequest, obj: Endpoint, form, change: bool) -> None:
        obj.event_types = sorted(set(form.cleaned_data["event_types"]))
        if not change:
            obj.created_by = request.user
        reenabled = change and obj.is_active and "is_active" in form.changed_data
        super().save_model(request, obj, form, change)
        if reenabled:
            enable_endpoint(obj)

    @admin.action(description="Enable and retry given-up deliveries", permissions=["change"])
    def enable(self, request, queryset):
        requeued = sum(enable_endpoint(endpoint) for endpoint in queryset)
        self.message_user(request, f"{queryset.count()} enabled, {requeued} deliveries queued again.", messages.SUCCESS)


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Events and deliveries: written by the outbox and the delivery task only."""


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "created_at"]
    list_filter = ["type"]
    fields = ["id", "type", "created_at", "data"]
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "event",
        "endpoint",
        "status",
        "attempts",
        "status_code",
        "duration_ms",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "endpoint"]
    list_select_related = ["event", "endpoint"]
