"""The customer profile: its figures from the customer's lines, who may see it, its links, its query count."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from detection.models import ModelVersion, TransactionScore
from profiles.selectors import customer_profile
from reviews.services import change_review
from tests.conftest import logged_in
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(trained_version: ModelVersion) -> int:
    score = TransactionScore.objects.filter(model_version=trained_version, is_flagged=True).order_by("-anomaly_score")[
        0
    ]
    return score.customer_id


def test_the_profile_summarises_the_customers_lines(customer: int, admin_user, django_assert_max_num_queries) -> None:
    lines = Transaction.objects.filter(customer_id=customer)
    flagged = TransactionScore.objects.filter(customer_id=customer, is_flagged=True)
    change_review(flagged[0].transaction_id, actor=admin_user, status="confirmed_fraud", note="checked")

    with django_assert_max_num_queries(6):
        profile = customer_profile(customer)

    assert profile["line_count"] == lines.count()
    assert profile["invoice_count"] == lines.values("invoice_no").distinct().count()
    assert sum(item["lines"] for item in profile["invoices"]) == lines.count()
    assert any(item["flagged"] for item in profile["invoices"])
    assert profile["flagged_lines"] == flagged.count()
    dates = [item["date"] for item in profile["invoices"]]
    assert dates == sorted(dates)
    assert {item["country"] for item in profile["countries"]} == set(lines.values_list("country", flat=True))
    assert sum(item["lines"] for item in profile["hours"]) == lines.count()
    amounts = profile["amounts"]
    assert amounts["min"] <= amounts["p5"] <= amounts["median"] <= amounts["p95"] <= amounts["max"]
    assert profile["cancellations"]["lines"] == lines.filter(is_cancellation=True).count()
    assert 1 <= len(profile["top_items"]) <= 10
    assert profile["verdicts"] == {"confirmed_fraud": 1}
    assert profile["reviews"][0]["note"] == "checked"


def test_an_unknown_customer_has_no_profile(trained_version: ModelVersion, analyst_client) -> None:
    assert customer_profile(99999) is None
    assert analyst_client.get("/customers/99999/").status_code == 404


def test_the_page_needs_the_view_permission_and_links_to_dashboard_queue_and_exports(
    customer: int, analyst_client
) -> None:
    url = f"/customers/{customer}/"
    assert logged_in(None).get(url).status_code == 302
    assert logged_in(User.objects.create_user("plain", password="plain-pass-123")).get(url).status_code == 403

    html = analyst_client.get(url).content.decode()

    assert f"<h1>Customer {customer}</h1>" in html
    assert f'href="/?customer={customer}"' in html
    assert f'href="/exports/customers/{customer}/transactions.csv"' in html
    assert 'class="flagged"' in html
    assert "<script" not in html
