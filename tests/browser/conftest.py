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
# Reports each Content-Security-Policy violation as a console error, in every frame (the Dash iframe too).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
                + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def chromium_browser(monkeypatch) -> Iterator[object]:
    """Headless Chromium (Debian's package: `apt-get install chromium`); skips when it is absent."""
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import expect, sync_playwright

    # The single-threaded test server answers the page's parallel Dash callbacks one by one; on a
    # loaded 2-core machine that can outlast expect()'s default 5 s.
    expect.set_options(timeout=30_000)

    # Playwright's sync API keeps an asyncio loop running in this thread, so Django would take any
    # ORM call of the test for one made from async code; the calls here are plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(request) -> Iterator[object]:
    """pytest-django's live server, answering one request at a time.

    With the in-memory SQLite test database every server thread shares one connection; two
    threads on it deadlock when a query calls one of Django's Python SQL functions (the date
    truncation of the over-time chart) while the other waits for that connection holding the GIL.
    A single-threaded server closes each connection after its response, so nothing waits on it.
    """
    from django.core.servers.basehttp import WSGIServer
    from pytest_django.live_server_helper import LiveServer

    class SingleThreadedServer(WSGIServer):
        def __init__(self, *args, connections_override=None, **kwargs):
            # The server thread has installed `connections_override` already, and serves here.
            super().__init__(*args, **kwargs)

    address = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(address, start=False)
    server.thread.server_class = SingleThreadedServer
    server.start()
    yield server
    server.stop()


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


def pick_customer(frame, customer: int) -> None:
    """Open the dashboard's customer dropdown, search for `customer` and choose its option.

    Waits for the dropdown's search box to have focus and fills it in one step: keys typed before the
    popover has mounted are lost, and a partial search never lists the customer.
    """
    import re

    from playwright.sync_api import expect

    frame.locator("#customer").click()
    search = frame.locator(".dash-dropdown-search")
    expect(search).to_be_focused()
    search.fill(str(customer))
    option = frame.get_by_role("option", name=re.compile(rf"^{customer} "))
    expect(option).to_have_count(1)
    option.click()
