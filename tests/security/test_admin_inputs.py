"""Query strings an analyst (or a link) can put on the admin changelists: never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

TRANSACTIONS = "/admin/transactions/transaction/"
SCORES = "/admin/detection/transactionscore/"
REVIEWS = "/admin/reviews/review/"
CUSTOMERS = "/admin/transactions/customer/"


@pytest.fixture(autouse=True)
def _no_static_finders(settings):
    """WhiteNoise would list django-plotly-dash's finder (which fails at it); no static files are served here."""
    settings.WHITENOISE_USE_FINDERS = False


@pytest.mark.parametrize(
    "query",
    [
        "version=abc",
        "version=-1",
        "version=1.5",
        "version=99999999999999999999999",
        "q=" + "9" * 5_000,
        "q=" + "1" * 23,
        "q=%C2%B2",  # "²": str.isdigit() says yes, int() says no
        "q=%D9%A1%D9%A2",  # Arabic-Indic digits
        "risk_score=abc",
        "invoice_date__year=99999",
        "invoice_date__year=abc&invoice_date__month=13",
    ],
)
def test_score_changelist_survives_hostile_query_strings(superuser_client, trained_version, query) -> None:
    response = superuser_client.get(f"{SCORES}?{query}", follow=True)

    assert response.status_code == 200


@pytest.mark.parametrize("url", [TRANSACTIONS, REVIEWS, CUSTOMERS])
@pytest.mark.parametrize("term", ["1" * 23, "9" * 5_000, "%C2%B2", "-5", "%00"])
def test_searching_a_huge_number_shows_an_empty_result(superuser_client, url, term) -> None:
    response = superuser_client.get(f"{url}?q={term}", follow=True)

    assert response.status_code == 200
    assert b"0 " in response.content or b"0 results" in response.content


def test_an_unknown_version_shows_an_empty_list_with_a_message(superuser_client, trained_version) -> None:
    response = superuser_client.get(f"{SCORES}?version=abc")

    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    assert any("version" in str(message) for message in response.context["messages"])


def test_a_valid_customer_search_still_finds_the_rows(superuser_client, trained_version) -> None:
    from detection.models import TransactionScore

    customer = TransactionScore.objects.values_list("customer_id", flat=True).first()

    response = superuser_client.get(f"{SCORES}?q={customer}")

    assert response.status_code == 200
    assert response.context["cl"].result_count == TransactionScore.objects.filter(customer_id=customer).count()
