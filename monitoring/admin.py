"""The model-version admin with monitoring: each version's figures against analysts' verdicts on its
page, and two pages under it: the comparison with the active version and the feature drift."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from detection.admin import ModelVersionAdmin
from detection.models import ModelVersion
from detection.selectors import active_model_version

from . import drift, selectors

admin.site.unregister(ModelVersion)


@admin.register(ModelVersion)
class MonitoredModelVersionAdmin(ModelVersionAdmin):
    """Detection's model-version admin plus the label metrics, the comparison and the drift pages."""

    fieldsets = [
        (None, {"fields": ModelVersionAdmin.readonly_fields}),
        ("Against analysts' verdicts", {"fields": ["label_metrics_block", "monitoring_links"]}),
    ]
    readonly_fields = [*ModelVersionAdmin.readonly_fields, "label_metrics_block", "monitoring_links"]

    @admin.display(description="label metrics")
    def label_metrics_block(self, version: ModelVersion) -> str:
        return render_to_string("monitoring/label_metrics.html", {"labels": selectors.label_metrics(version)})

    @admin.display(description="compare and drift")
    def monitoring_links(self, version: ModelVersion) -> str:
        compare = reverse("admin:detection_modelversion_compare", args=[version.pk])
        drifted = reverse("admin:detection_modelversion_drift", args=[version.pk])
        return format_html(
            '<a href="{}">Compare with the active version</a> &middot; <a href="{}">Feature drift (PSI)</a>',
            compare,
            drifted,
        )

    def get_urls(self) -> list:
        pages = [
            ("compare", self.compare_view),
            ("drift", self.drift_view),
        ]
        own = [
            path(f"<int:object_id>/{name}/", self.admin_site.admin_view(view), name=f"detection_modelversion_{name}")
            for name, view in pages
        ]
        return [*own, *super().get_urls()]

    def _page(self, request: HttpRequest, object_id: int, title: str) -> tuple[ModelVersion, dict]:
        """The version and the admin context of one of its monitoring pages; 403 without the view permission."""
        if not self.has_view_permission(request):
            raise PermissionDenied("You may not view model versions.")
        version = get_object_or_404(ModelVersion, pk=object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": version,
            "title": title.format(version=version),
        }
        return version, context

    def compare_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """v<id> against the active version; a notice when it is the active one or either has no scores."""
        version, context = self._page(request, object_id, "v{version.pk} against the active version")
        active = active_model_version()
        if active is None or active.pk == version.pk:
            context["notice"] = f"v{version.pk} is the active version." if active else "No version is active yet."
        elif not (version.scores.exists() and active.scores.exists()):
            context["notice"] = "One of the two versions has no stored scores any more: they were pruned."
        else:
            context["comparison"] = selectors.version_comparison(active, version)
        return TemplateResponse(request, "admin/monitoring/compare.html", context)

    def drift_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """PSI per feature of the rows scored after v<id> was trained, against its training rows."""
        version, context = self._page(request, object_id, "Feature drift of v{version.pk}")
        context["drift"] = selectors.feature_drift(version)
        context["bands"] = {"stable_below": drift.STABLE_BELOW, "retrain_above": drift.RETRAIN_ABOVE}
        return TemplateResponse(request, "admin/monitoring/drift.html", context)
