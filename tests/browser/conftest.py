"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, a live site with a trained model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_PASSWORD = "browser-pass-123"


@pytest.fixture
def chromium_browser(monkeypatch) -> Iterator[object]:
    """Headless Chromium (Debian's package: `apt-get install chromium`); skips when it is absent."""
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, so Django would take any
    # ORM call of the test for one made from async code; the calls here are plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshot_dir(tmp_path_factory) -> Path:
    """Where screenshots go: $DASHBOARD_SCREENSHOTS when set (kept), else a pytest temporary folder."""
    folder = os.environ.get("DASHBOARD_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def site_with_model(transactional_db, live_server, trained_version, django_user_model):
    """The live site (committed data, as the server thread needs) with a trained model and a superuser."""
    django_user_model.objects.create_superuser("admin", "admin@example.com", ADMIN_PASSWORD)
    return live_server
