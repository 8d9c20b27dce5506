"""Admin for model versions: the list with each run's figures, "Train now", re-activation and candidates."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from core.admin_mixins import ChangelistPageMixin, single_selected
from core.errors import ApplicationError

from . import services
from .errors import InvalidTrainingParameters
from .models import ModelVersion
from .training_jobs import TRAIN_PERMISSIONS, queue_training
from .training_parameters import TrainingParameters


class TrainForm(forms.Form):
    """The "Train now" form; its bounds are TrainingParameters' own."""

    contamination = forms.FloatField(initial=0.02)
    epochs = forms.IntegerField(initial=20)
    seed = forms.IntegerField(initial=0)
    candidate = forms.BooleanField(required=False, label="keep as a candidate (do not activate)")

    def clean(self):
        cleaned = super().clean()
        try:
            self.parameters = TrainingParameters.parse(cleaned)
        except InvalidTrainingParameters as exc:
            for name, messages_ in exc.errors.items():
                self.add_error(name if name in self.fields else None, messages_)
        return cleaned


@admin.register(ModelVersion)
class ModelVersionAdmin(ChangelistPageMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "is_active",
        "created_at",
        "finished_at",
        "duration",
        "training_rows",
        "flagged",
        "started_by",
    ]
    list_filter = ["status"]
    list_select_related = ["started_by"]
    readonly_fields = [field.name for field in ModelVersion._meta.fields]
    actions = ["activate_version", "activate_candidate"]
    changelist_page = "train"

    @admin.display(description="duration")
    def duration(self, version: ModelVersion) -> str:
        return "" if version.duration_seconds is None else f"{version.duration_seconds:.1f} s"

    @admin.display(description="flagged")
    def flagged(self, version: ModelVersion):
        return version.metrics.get("flagged_either", "")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from "Train now", the API or train_models

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj and obj.is_active)

    def has_train_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(TRAIN_PERMISSIONS)

    @admin.action(description="Activate the selected version (its scores must be kept)", permissions=["change"])
    def activate_version(self, request: HttpRequest, queryset: QuerySet) -> None:
        version = single_selected(self, request, queryset, "version to activate")
        if version is None:
            return
        if version.status != ModelVersion.Status.RETIRED:
            self.message_user(request, f"v{version.pk} is {version.status}: it cannot be activated.", messages.ERROR)
            return
        if not version.scores.exists():
            self.message_user(request, f"v{version.pk} has no stored scores any more.", messages.ERROR)
            return
        services.activate(version)
        self.message_user(request, f"v{version.pk} is now the active model.", messages.SUCCESS)

    @admin.action(description="Activate the selected candidate", permissions=["train"])
    def activate_candidate(self, request: HttpRequest, queryset: QuerySet) -> None:
        """The same users who may start a training run may activate the candidate it left."""
        version = single_selected(self, request, queryset, "candidate to activate")
        if version is None:
            return
        try:
            services.activate_candidate(version)
        except ApplicationError as exc:
            self.message_user(request, f"Not activated: {exc}.", messages.ERROR)
            return
        self.message_user(
            request,
            f"v{version.pk} is now the active model; rows that arrived since its training are scored "
            "at the next scoring run.",
            messages.SUCCESS,
        )

    def train_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a training run (POST); refuse while another one is live."""
        if request.method != "POST" or not self.has_train_permission(request):
            raise PermissionDenied("You may not start a training run.")
        form = TrainForm(request.POST)
        changelist = reverse("admin:detection_modelversion_changelist")
        if not form.is_valid():
            errors = "; ".join(f"{name}: {' '.join(error)}" for name, error in form.errors.items())
            self.message_user(request, f"Training not started: {errors}", messages.ERROR)
            return HttpResponseRedirect(changelist)
        try:
            job = queue_training(user=request.user, parameters=form.parameters)
        except ApplicationError as exc:  # another run is live, or the queue is down
            self.message_user(request, f"Training not started: {exc}.", messages.ERROR)
            return HttpResponseRedirect(changelist)
        self.message_user(request, f"Training queued as job #{job.pk} ({job.status}).", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:jobs_backgroundjob_change", args=[job.pk]))
