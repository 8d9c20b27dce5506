"""The customer profile in headless Chromium: opened from the dashboard, chart drawn, no errors, nothing off-site."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from detection.selectors import customers_by_anomalies
from profiles.selectors import customer_profile

from .conftest import REPORT_VIOLATIONS
from .test_dashboard import LOCAL_HOSTS, log_in

pytestmark = pytest.mark.browser


def test_an_analyst_opens_a_customer_profile_from_the_dashboard(
    site_with_model, chromium_browser, screenshot_dir
) -> None:
    from playwright.sync_api import expect

    customer = customers_by_anomalies(limit=1)[0]["customer_id"]
    profile = customer_profile(customer)
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(REPORT_VIOLATIONS)
    errors: list[str] = []
    hosts: set[str | None] = set()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    context.on("request", lambda request: hosts.add(urlparse(request.url).hostname))

    log_in(page, site_with_model.url, next_path=f"/%3Fcustomer%3D{customer}")
    link = page.frame_locator("iframe").locator("#profile-link")
    expect(link).to_have_attribute("href", f"/customers/{customer}/")
    with context.expect_page() as opened:
        link.click()
    profile_page = opened.value
    profile_page.wait_for_load_state("networkidle")

    expect(profile_page.locator("h1")).to_have_text(f"Customer {customer}")
    expect(profile_page.locator(".invoice-chart circle")).to_have_count(len(profile["invoices"]))
    flagged = sum(item["flagged"] for item in profile["invoices"])
    expect(profile_page.locator(".invoice-chart circle.flagged")).to_have_count(flagged)
    expect(profile_page.locator("#profile-countries tbody tr")).to_have_count(len(profile["countries"]))
    expect(profile_page.locator("#profile-items tbody tr")).to_have_count(len(profile["top_items"]))
    profile_page.screenshot(path=screenshot_dir / "profile.png", full_page=True)

    context.close()
    assert flagged >= 1
    assert errors == []
    assert hosts <= LOCAL_HOSTS
