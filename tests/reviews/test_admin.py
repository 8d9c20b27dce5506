"""Admin changelists run a constant, small number of queries; the transaction page shows its context."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.models import TransactionScore
from reviews.models import Review
from reviews.services import apply_review_change
from transactions.models import Transaction

pytestmark = pytest.mark.django_db
MAX_QUERIES = 15
TRANSACTIONS = "/admin/transactions/transaction/"
SCORES = "/admin/detection/transactionscore/"
REVIEWS = "/admin/reviews/review/"


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.fixture
def reviewed(trained_version, flagged_ids, admin_user) -> list[int]:
    """Reviews on the flagged rows, half assigned, a third confirmed."""
    apply_review_change(flagged_ids[::2], actor=admin_user, analyst=admin_user)
    apply_review_change(flagged_ids[::3], actor=admin_user, status=Review.Status.CONFIRMED_FRAUD)
    return flagged_ids


@pytest.mark.parametrize(
    "url",
    [
        TRANSACTIONS,
        f"{TRANSACTIONS}?country=United+Kingdom&is_cancellation__exact=0",
        f"{TRANSACTIONS}?review=confirmed_fraud",
        f"{TRANSACTIONS}?invoice_date__year=2011",
        f"{TRANSACTIONS}?q=12347",
        SCORES,
        f"{SCORES}?is_flagged__exact=1",
        f"{SCORES}?iso_forest_flag__exact=1&autoencoder_flag__exact=0",
        f"{SCORES}?risk_score=1&country=United+Kingdom",
        f"{SCORES}?review=new&is_common_anomaly__exact=1",
        f"{SCORES}?invoice_date__year=2011&invoice_date__month=3",
        f"{SCORES}?q=12347",
        REVIEWS,
        f"{REVIEWS}?status=confirmed_fraud&assigned=me",
    ],
)
def test_changelists_run_few_queries(admin_client, reviewed, url, django_assert_max_num_queries) -> None:
    assert Transaction.objects.count() > 2_500
    with django_assert_max_num_queries(MAX_QUERIES):
        response = admin_client.get(url)
    assert response.status_code == 200


def test_query_count_does_not_grow_with_rows_shown(admin_client, reviewed) -> None:
    """A page of 100 rows (reviewed ones among them) costs no more queries than a page of one."""
    assert len(admin_client.get(SCORES).context["cl"].result_list) == 100
    many = query_count(admin_client, SCORES)
    one = query_count(admin_client, f"{SCORES}?q={Transaction.objects.get(pk=reviewed[0]).invoice_no}")
    assert many <= one
    assert query_count(admin_client, TRANSACTIONS) == query_count(admin_client, f"{TRANSACTIONS}?p=2")


def test_score_changelist_defaults_to_the_active_version_ranked(admin_client, trained_version, fast_training) -> None:
    newer = fast_training.train_and_activate(epochs=3, seed=1)
    page = admin_client.get(SCORES)
    rows = list(page.context["cl"].result_list)

    assert {row.model_version_id for row in rows} == {newer.pk}
    scores = [row.anomaly_score for row in rows]
    assert scores == sorted(scores, reverse=True)
    older = admin_client.get(f"{SCORES}?version={trained_version.pk}").context["cl"].result_list
    assert {row.model_version_id for row in older} == {trained_version.pk}


def test_review_status_filter_counts_rows_without_review_as_new(admin_client, reviewed) -> None:
    confirmed = admin_client.get(f"{SCORES}?review=confirmed_fraud").context["cl"]
    new = admin_client.get(f"{SCORES}?review=new&is_flagged__exact=1").context["cl"]

    expected_confirmed = len(reviewed[::3])
    assert confirmed.result_count == expected_confirmed
    assert new.result_count == len(reviewed) - expected_confirmed


def test_date_hierarchy_lists_the_years_and_months_present(admin_client, trained_version) -> None:
    from django.db.models.functions import TruncMonth

    months = sorted(
        {
            value.month
            for value in Transaction.objects.filter(invoice_date__year=2011)
            .annotate(month=TruncMonth("invoice_date"))
            .values_list("month", flat=True)
        }
    )
    page = admin_client.get(f"{TRANSACTIONS}?invoice_date__year=2011").content.decode()

    for month in months:
        assert f"invoice_date__month={month}&amp;" in page or f'invoice_date__month={month}"' in page
    absent = set(range(1, 13)) - set(months)
    for month in absent:
        assert f'invoice_date__month={month}"' not in page


def test_transaction_page_shows_scores_explanation_history_and_dashboard_link(admin_client, reviewed) -> None:
    row = Transaction.objects.get(pk=reviewed[0])
    score = TransactionScore.objects.get(transaction=row)
    page = admin_client.get(f"{TRANSACTIONS}{row.pk}/change/").content.decode()

    assert f'href="/?customer={row.customer_id}"' in page
    assert f"{score.anomaly_score:.3f}" in page
    first = score.explanation[0]
    assert f"{first['feature']}={first['value']:,.6g}" in page  # as fields.explanation_text writes it
    assert "Confirmed fraud" in page and "new &rarr; confirmed_fraud" in page
    recent = Transaction.objects.filter(customer_id=row.customer_id).order_by("-invoice_date", "-id")[:20]
    for other in recent:
        assert f"/admin/transactions/transaction/{other.pk}/change/" in page


def test_admin_sees_the_upload_form_and_the_train_button(admin_client, trained_version) -> None:
    upload = admin_client.get("/admin/transactions/importbatch/upload/").content.decode()
    jobs = admin_client.get("/admin/jobs/backgroundjob/").content.decode()
    versions = admin_client.get("/admin/detection/modelversion/").content.decode()

    assert 'enctype="multipart/form-data"' in upload and 'name="file"' in upload
    assert "/admin/transactions/importbatch/upload/" in jobs
    assert "/admin/detection/modelversion/train/" in versions and "Train now" in versions


def test_a_running_job_page_refreshes_itself(admin_client) -> None:
    from jobs.models import BackgroundJob

    running = BackgroundJob.objects.create(kind="train", status="running", progress=0.4, message="fit")
    done = BackgroundJob.objects.create(kind="ingest", status="succeeded", progress=1.0)

    assert (
        'http-equiv="refresh"' in admin_client.get(f"/admin/jobs/backgroundjob/{running.pk}/change/").content.decode()
    )
    assert (
        'http-equiv="refresh"' not in admin_client.get(f"/admin/jobs/backgroundjob/{done.pk}/change/").content.decode()
    )
    listing = admin_client.get("/admin/jobs/backgroundjob/").content.decode()
    assert "40%" in listing and "fit" in listing
