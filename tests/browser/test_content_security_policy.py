"""Every page of the site under its Content-Security-Policy in Chromium: no violation, no console error.

The dashboard (with the Dash app in its iframe, used), the admin (index, lists, a change page) and
the API docs (Swagger UI) each load and work with the policy django-csp sends.
"""

from __future__ import annotations

import pytest

from detection.models import TransactionScore

from .conftest import REPORT_VIOLATIONS, pick_customer
from .test_dashboard import log_in

pytestmark = pytest.mark.browser


def watch(page) -> list[str]:
    """Collect the page's console errors, uncaught errors, failed requests and CSP violations."""
    problems: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    # A request cut short by the next navigation (a Dash callback still in flight) is not a failure.
    page.on(
        "requestfailed",
        lambda request: (
            problems.append(f"failed: {request.url} ({request.failure})")
            if request.failure != "net::ERR_ABORTED"
            else None
        ),
    )
    page.on(
        "response",
        lambda response: problems.append(f"{response.status}: {response.url}") if response.status >= 400 else None,
    )
    return problems


def test_dashboard_admin_and_api_docs_obey_the_csp(site_with_model, chromium_browser) -> None:
    from playwright.sync_api import expect

    score = TransactionScore.objects.select_related("transaction").first()
    page = chromium_browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = watch(page)

    log_in(page, site_with_model.url)
    page.wait_for_url(f"{site_with_model.url}/")
    response = page.request.get(f"{site_with_model.url}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    frame = page.frame_locator("iframe")
    expect(frame.locator("#top-anomalies .barlayer .point").first).to_be_attached()
    expect(frame.locator("#score-table .ag-center-cols-container .ag-row").first).to_be_visible()
    expect(frame.locator("#score-distribution .barlayer .point")).to_have_count(20)
    frame.locator("#top-anomalies .barlayer .point").first.click(force=True)
    expect(frame.locator("#transaction-detail h4")).to_contain_text("Invoice")
    pick_customer(frame, score.customer_id)
    page.wait_for_load_state("networkidle")

    for path in [
        "/admin/",
        "/admin/detection/transactionscore/",
        "/admin/detection/modelversion/",
        "/admin/transactions/transaction/",
        f"/admin/transactions/transaction/{score.transaction_id}/change/",
        "/admin/reviews/review/",
        "/admin/transactions/importbatch/upload/",
    ]:
        page.goto(f"{site_with_model.url}{path}")
        page.wait_for_load_state("networkidle")

    page.goto(f"{site_with_model.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("E-commerce anomaly detection API")
    page.locator(".opblock-summary").first.click()
    page.wait_for_load_state("networkidle")
    page.close()

    assert problems == []
