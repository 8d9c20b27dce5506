"""The number of queries per request does not grow with the rows returned (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from detection.models import ModelVersion, TransactionScore

from .conftest import source_row

pytestmark = pytest.mark.django_db

# Every request: session and user (2) + the user's and groups' permissions (2) + the throttle counter in
# the database cache (read, size check, savepoint, upsert, release: 5; without the test's transaction,
# read, size check, upsert: 3; core.cache).
REQUEST_QUERIES = 9
# + the active version (1) + the rows (1).
READ_QUERIES = REQUEST_QUERIES + 2


def queries(request) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == 200, response.content[:300]
    return len(captured), response


def busiest_customer() -> int:
    return TransactionScore.objects.values("customer_id").annotate(n=Count("id")).order_by("-n")[0]["customer_id"]


def test_anomalies_queries_do_not_grow_with_rows(trained_version, api, django_assert_max_num_queries) -> None:
    customer = busiest_customer()

    def ask(limit: int):
        body = {"customer_id": customer, "filter_metric": "TotalSpent", "scope": "all", "limit": limit}
        return lambda: api.post("/api/anomalies", body, format="json")

    one, small = queries(ask(1))
    many, large = queries(ask(1000))

    assert len(small.json()["drill_down_data"]) == 1
    assert len(large.json()["drill_down_data"]) > 30
    assert one == many
    with django_assert_max_num_queries(READ_QUERIES):
        ask(1000)()


def test_transactions_page_queries_do_not_grow_with_page_size(
    trained_version, api, django_assert_max_num_queries
) -> None:
    few, _ = queries(lambda: api.get("/api/transactions/?page_size=2"))
    many, response = queries(lambda: api.get("/api/transactions/?page_size=500&flagged=false"))

    assert len(response.json()["results"]) == 500
    assert few == many
    with django_assert_max_num_queries(READ_QUERIES):
        api.get("/api/transactions/?page_size=500")


def test_customer_ids_and_models_take_one_query_each(trained_version, api, django_assert_max_num_queries) -> None:
    for _ in range(5):
        ModelVersion.objects.create(status=ModelVersion.Status.FAILED, started_by=trained_version.started_by)

    api.get("/customer_ids")  # the first read of the customer list stores its stamp (transactions.customer_list)
    with django_assert_max_num_queries(REQUEST_QUERIES + 1):  # the stamp; the ids are the process's
        assert len(api.get("/customer_ids").json()["customer_ids"]) > 10
    with django_assert_max_num_queries(REQUEST_QUERIES + 1):
        assert len(api.get("/api/models").json()) == 6


def test_scoring_queries_do_not_grow_with_rows(trained_version, loader_api, typical_score) -> None:
    def rows(count: int, prefix: str) -> list[dict]:
        return [source_row(typical_score, InvoiceNo=f"{prefix}{i}", Quantity=i + 1) for i in range(count)]

    # the first request after a policy change compiles the decision policy once (a few more queries)
    loader_api.post("/api/score", {"rows": rows(1, "W")}, format="json")
    scored_one, _ = queries(lambda: loader_api.post("/api/score", {"rows": rows(1, "A")}, format="json"))
    scored_many, _ = queries(lambda: loader_api.post("/api/score", {"rows": rows(200, "B")}, format="json"))
    stored_one, _ = queries(lambda: loader_api.post("/api/score", {"rows": rows(1, "C"), "store": True}, format="json"))
    stored_many, response = queries(
        lambda: loader_api.post("/api/score", {"rows": rows(200, "D"), "store": True}, format="json")
    )
    stored_more, _ = queries(
        lambda: loader_api.post("/api/score", {"rows": rows(400, "E"), "store": True}, format="json")
    )

    assert all(row["stored"] for row in response.json()["rows"])
    assert scored_one == scored_many
    # Flagged or decided rows among the stored ones join or open cases (cases.receivers) and emit
    # their webhook events in bulk: a fixed number more (about 30 when some of the rows are flagged),
    # which does not grow with the rows.
    assert stored_one <= stored_many <= stored_one + 40
    assert abs(stored_more - stored_many) <= 5
