"""Admin for policies (with the backtest shown before publishing) and their rules."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from core.admin_mixins import ReadOnlyInline, one_row_action
from core.errors import ApplicationError, InvalidInput
from detection.errors import NoActiveModel

from .. import conditions, selectors, services
from ..models import Policy, Rule
from .common import PUBLISH_PERMISSION, _form_errors


class PolicyForm(forms.ModelForm):
    class Meta:
        model = Policy
        fields = ["name", "review_at", "block_at"]

    def clean(self):
        cleaned = super().clean()
        if "review_at" in cleaned and "block_at" in cleaned:
            try:
                services.validate_thresholds(cleaned["review_at"], cleaned["block_at"])
            except InvalidInput as exc:
                _form_errors(self, exc)
        return cleaned


class RuleInline(ReadOnlyInline):
    """The version's rules, read-only here: they are edited one by one (Rules), on drafts only."""

    model = Rule
    fields = ["order", "action", "name", "reason", "condition_text", "is_enabled"]
    show_change_link = True

    @admin.display(description="condition")
    def condition_text(self, rule: Rule) -> str:
        return json.dumps(rule.condition)

    def has_change_permission(self, request, obj=None) -> bool:
        # as the Rule admin allows: the link to each rule's own page then reads "Change", not "View"
        return admin.TabularInline.has_change_permission(self, request, obj)


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    form = PolicyForm
    list_display = ["__str__", "status", "review_at", "block_at", "rule_count", "created_by", "published_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    inlines = [RuleInline]
    actions = ["publish", "new_draft"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("rules")

    @admin.display(description="rules")
    def rule_count(self, policy: Policy) -> int:
        return len(policy.rules.all())

    def get_readonly_fields(self, request: HttpRequest, obj: Policy | None = None):
        shown = ["status", "based_on", "created_by", "created_at", "published_by", "published_at", "backtest"]
        if obj is not None and obj.status != Policy.Status.DRAFT:
            return ["name", "review_at", "block_at", *shown]
        return shown if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Policy | None = None) -> bool:
        return False  # versions are kept: archived, never deleted

    @admin.display(description="backtest over the active model's stored rows")
    def backtest(self, policy: Policy) -> str:
        if policy.status != Policy.Status.DRAFT:  # a grouped pass over every stored row: drafts only
            return "Shown for drafts, before they are published."
        try:
            figures = selectors.backtest(policy)
        except NoActiveModel:
            return "No active model: nothing to backtest yet."
        rules = format_html_join(
            "",
            "<li>{} '{}': would have matched {} past rows ({} confirmed fraud, {} false positives)</li>",
            (
                (r["action"], r["name"], r["matches"], r["confirmed_fraud"], r["false_positive"])
                for r in figures["rules"]
            ),
        )
        counts = figures["decisions"]
        return format_html(
            "<p>{} rows: approve {}, review {}, block {}; {} alerts per day over {} days; among the alerts {} "
            "confirmed fraud and {} false positives.</p><ul>{}</ul>",
            figures["rows"],
            counts["approve"],
            counts["review"],
            counts["block"],
            figures["alerts_per_day"],
            figures["days"],
            figures["confirmed_fraud"],
            figures["false_positive"],
            rules,
        )

    def save_model(self, request: HttpRequest, obj: Policy, form, change: bool) -> None:
        if not change:  # a new version starts as a copy of the published one, then takes the form's values
            draft = services.create_draft(user=request.user, name=obj.name)
            obj.pk = draft.pk
            obj.refresh_from_db()
            services.set_thresholds(
                policy=obj,
                review_at=form.cleaned_data["review_at"],
                block_at=form.cleaned_data["block_at"],
                user=request.user,
            )
            return
        if obj.status == Policy.Status.DRAFT:
            before = Policy.objects.get(pk=obj.pk)
            if (before.review_at, before.block_at) != (obj.review_at, obj.block_at):
                obj.review_at, obj.block_at = before.review_at, before.block_at
                services.set_thresholds(
                    policy=obj,
                    review_at=form.cleaned_data["review_at"],
                    block_at=form.cleaned_data["block_at"],
                    user=request.user,
                )
            if before.name != form.cleaned_data["name"]:
                Policy.objects.filter(pk=obj.pk).update(name=form.cleaned_data["name"])
                services.record(
                    actor=request.user,
                    action="update",
                    obj=obj,
                    summary=f"name of v{obj.pk}",
                    before={"name": before.name},
                    after={"name": form.cleaned_data["name"]},
                )

    def save_related(self, request, form, formsets, change):
        pass  # rules are edited on their own page

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PUBLISH_PERMISSION)

    @one_row_action(
        "draft to publish", description="Publish the selected draft (re-decides stored rows)", permissions=["publish"]
    )
    def publish(self, request: HttpRequest, policy: Policy) -> None:
        try:
            services.publish_policy(policy=policy, user=request.user)
        except ApplicationError as exc:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()) or exc.message
            self.message_user(request, f"Not published: {detail}", messages.ERROR)
            return
        self.message_user(request, f"v{policy.pk} is published; stored rows are being re-decided.", messages.SUCCESS)

    @one_row_action("version to copy", description="Create a draft from the selected version", permissions=["add"])
    def new_draft(self, request: HttpRequest, based_on: Policy) -> None:
        draft = services.create_draft(user=request.user, based_on=based_on)
        self.message_user(request, f"Draft v{draft.pk} created.", messages.SUCCESS)


# --- Rules -----------------------------------------------------------------------------------------


class RuleForm(forms.ModelForm):
    condition = forms.JSONField(
        help_text=format_html(
            '{{"all"|"any": [{{"field", "op", "value"}} or nested all/any]}}. Fields: {}. Operators: {}.',
            ", ".join(conditions.FIELD_KINDS),
            "; ".join(f"{kind}: {', '.join(ops)}" for kind, ops in conditions.OPERATORS.items())
            + "; customer_id, country, stock_code, invoice_no also: in_list, not_in_list (value: a list's name)",
        ),
        widget=forms.Textarea(attrs={"rows": 8, "cols": 90}),
    )

    class Meta:
        model = Rule
        fields = ["policy", "order", "action", "name", "reason", "condition", "is_enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "policy" in self.fields:
            self.fields["policy"].queryset = Policy.objects.filter(status=Policy.Status.DRAFT)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.validated = services.validated_rule_fields(cleaned)
        except InvalidInput as exc:
            _form_errors(self, exc)
        return cleaned


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ["name", "action", "policy", "order", "is_enabled", "reason"]
    list_filter = ["policy__status", "action"]
    list_select_related = ["policy"]
    readonly_fields = ["would_have_matched"]

    def has_change_permission(self, request: HttpRequest, obj: Rule | None = None) -> bool:
        # the rules of published and archived versions are history: shown, never edited
        return super().has_change_permission(request, obj) and (obj is None or obj.policy.status == "draft")

    @admin.display(description="backtest")
    def would_have_matched(self, rule: Rule) -> str:
        if rule.pk is None:
            return "Save to see how many past rows the rule would have matched."
        try:
            return f"would have matched {selectors.rule_matches(rule.condition):,} past rows of the active model"
        except NoActiveModel:
            return "No active model: nothing to backtest yet."

    def has_delete_permission(self, request: HttpRequest, obj: Rule | None = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.policy.status == "draft")

    def save_model(self, request: HttpRequest, obj: Rule, form: RuleForm, change: bool) -> None:
        rule = services.save_rule(
            policy=form.cleaned_data["policy"],
            data=form.cleaned_data,
            user=request.user,
            rule=Rule.objects.get(pk=obj.pk) if change else None,
        )
        obj.pk = rule.pk

    def delete_model(self, request: HttpRequest, obj: Rule) -> None:
        services.delete_rule(rule=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for rule in queryset.select_related("policy"):
            services.delete_rule(rule=rule, user=request.user)


# --- Lists -----------------------------------------------------------------------------------------
