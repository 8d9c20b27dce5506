"""Helpers for migrations that move a model between apps while keeping its table."""

from __future__ import annotations


def rename_content_types(old_app: str, new_app: str, models: list[str]):
    """Return a RunPython pair that relabels the models' content types (their permissions follow)."""

    def forward(apps, schema_editor):
        _relabel(apps, old_app, new_app, models)

    def backward(apps, schema_editor):
        _relabel(apps, new_app, old_app, models)

    return forward, backward


def _relabel(apps, source: str, target: str, models: list[str]) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    for model in models:
        old = content_type.objects.filter(app_label=source, model=model).first()
        if old is None:
            continue
        new = content_type.objects.filter(app_label=target, model=model).first()
        if new is None:
            old.app_label = target
            old.save(update_fields=["app_label"])
            continue
        # Both exist (post_migrate created the new one): the old one's grants move to the new permissions.
        for granted in permission.objects.filter(content_type=old):
            twin = permission.objects.filter(content_type=new, codename=granted.codename).first()
            if twin is None:
                granted.content_type = new
                granted.save(update_fields=["content_type"])
                continue
            for group in granted.group_set.all():
                group.permissions.add(twin)
            for user in granted.user_set.all():
                user.user_permissions.add(twin)
            granted.delete()
        old.delete()
