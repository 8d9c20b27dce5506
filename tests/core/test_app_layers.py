"""The apps depend one way: each imports only apps of a lower tier (migrations aside, which name
other apps' models as strings). A new app goes into TIERS, or this test names it."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
TIERS = [
    ["core"],
    ["jobs"],
    ["webhooks"],
    ["transactions"],
    ["detection"],
    ["decisions"],
    ["reviews"],
    ["cases"],
    ["monitoring"],
    ["dashboard", "api"],
    ["exports", "profiles"],
]
TIER = {app: level for level, apps in enumerate(TIERS) for app in apps}


def imported_apps(app: str) -> dict[str, set[str]]:
    """Return {project app imported by `app`: the files importing it} (imports inside functions too)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / app).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in TIER and top != app:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_project_app_has_a_tier() -> None:
    project_apps = {app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()}
    assert project_apps == set(TIER)


def test_apps_import_only_lower_tiers() -> None:
    upward = {
        f"{app} -> {other}": sorted(files)
        for app in TIER
        for other, files in imported_apps(app).items()
        if TIER[other] >= TIER[app]
    }
    assert upward == {}
