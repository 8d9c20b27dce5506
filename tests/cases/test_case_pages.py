"""The case queue in the admin, the API, and the dashboard's link to a customer's case, by role."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import Case
from cases.selectors import case_for_customer
from cases.services import group_alerts_into_cases
from reviews.models import Review

pytestmark = pytest.mark.django_db
QUEUE = "/admin/cases/case/"


@pytest.fixture
def cases(version, make_alert) -> list[Case]:
    """Three open cases: customer 101 (score 0.97, value 500), 202 (0.99, 20), 303 (0.97, 900)."""
    make_alert(101, 0, score=0.97, amount=500)
    make_alert(202, 0, score=0.99, amount=20)
    make_alert(303, 0, score=0.97, amount=900)
    group_alerts_into_cases(version)
    return list(Case.objects.all())


def test_the_queue_ranks_by_highest_score_then_value_at_risk(cases, analyst_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = analyst_client.get(QUEUE)

    assert response.status_code == 200
    ranked = [case.customer_id for case in response.context["cl"].result_list]
    assert ranked == [202, 303, 101]


@pytest.mark.parametrize(
    ("query", "customers"),
    [("country=France", [303, 101]), ("assignee=nobody", [202, 303, 101]), ("age=overdue", [202])],
)
def test_the_queue_filters(cases, analyst_client, query, customers):
    Case.objects.filter(customer_id=202).update(sla_due_at="2000-01-01T00:00:00Z")

    response = analyst_client.get(f"{QUEUE}?{query}")

    assert [case.customer_id for case in response.context["cl"].result_list] == customers


def test_bulk_assign_to_me_and_close_as_fraud(cases, analyst, analyst_client):
    ids = [str(case.pk) for case in cases[:2]]

    analyst_client.post(QUEUE, {"action": "assign_to_me", "_selected_action": ids})
    analyst_client.post(QUEUE, {"action": "close_as_fraud", "_selected_action": ids})

    closed = Case.objects.filter(pk__in=ids)
    assert {(case.assignee_id, case.status) for case in closed} == {(analyst.pk, Case.Status.CLOSED_FRAUD)}
    assert Review.objects.filter(status=Review.Status.CONFIRMED_FRAUD).count() == 2


def test_an_analyst_cannot_reopen_in_the_admin(cases, analyst, analyst_client):
    case = cases[0]
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED_LEGITIMATE)
    url = reverse("admin:cases_case_change", args=[case.pk])

    page = analyst_client.get(url)
    assert page.status_code == 200 and b"opened with 1 alerts" in page.content  # history inline

    response = analyst_client.post(url, {"status": "investigating", "assignee": "", "notes": ""})
    assert response.status_code == 200  # the form again
    assert "reopen" in response.context["adminform"].form.errors["status"][0]
    assert Case.objects.get(pk=case.pk).status == Case.Status.CLOSED_LEGITIMATE


def test_roles_against_the_case_api(cases, client, analyst_client, admin_client):
    plain = Client()
    from django.contrib.auth.models import User

    plain.force_login(User.objects.create_user("plain"))
    assert client.get("/api/cases").status_code == 401
    assert plain.get("/api/cases").status_code == 403
    listed = analyst_client.get("/api/cases?status=open").json()["results"]
    assert [row["customer_id"] for row in listed] == [202, 303, 101]

    case = cases[0]
    detail = analyst_client.get(f"/api/cases/{case.pk}").json()
    assert len(detail["transactions"]) == 1 and detail["history"][0]["note"] == "opened with 1 alerts"
    assert (
        plain.post(f"/api/cases/{case.pk}/close", {"verdict": "fraud"}, content_type="application/json").status_code
        == 403
    )

    closed = analyst_client.post(f"/api/cases/{case.pk}/close", {"verdict": "fraud"}, content_type="application/json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed_fraud"
    assert closed.json()["transactions"][0]["review_status"] == "confirmed_fraud"
    again = admin_client.post(f"/api/cases/{case.pk}/close", {"verdict": "legitimate"}, content_type="application/json")
    assert again.status_code == 409
    bad = analyst_client.post(f"/api/cases/{case.pk}/close", {"verdict": "maybe"}, content_type="application/json")
    assert bad.status_code == 400 and "verdict" in bad.json()["errors"]
    assert analyst_client.get("/api/cases/999999").status_code == 404


def test_the_dashboard_detail_links_to_the_customers_case(cases):
    from dashboard.components import case_link

    found = case_for_customer(202)
    link = case_link(found)
    assert link.href == reverse("admin:cases_case_change", args=[found["id"]])
    assert case_for_customer(999) is None and case_link(None) is None
