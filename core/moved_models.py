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
    for model in models:
        if content_type.objects.filter(app_label=target, model=model).exists():
            continue  # created already (e.g. by post_migrate): the old one is left unused
        content_type.objects.filter(app_label=source, model=model).update(app_label=target)
