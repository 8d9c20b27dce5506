"""Grouping alerts into cases: one per customer and window, later alerts join, each row in one case only."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from cases.models import Case, CaseEvent, CaseTransaction
from cases.services import add_alerts, group_alerts_into_cases
from detection.models import ModelVersion
from detection.signals import scores_written
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def cases_by_customer() -> dict[int, list[list[int]]]:
    """customer -> each case's transaction ids, cases in id order."""
    out: dict[int, list[list[int]]] = {}
    for case in Case.objects.order_by("pk"):
        out.setdefault(case.customer_id, []).append(
            sorted(CaseTransaction.objects.filter(case=case).values_list("transaction_id", flat=True))
        )
    return out


def test_flagged_rows_open_a_case_per_customer_split_where_alerts_are_a_window_apart(version, make_alert):
    a1, a2, a3 = (
        make_alert(101, 0, score=0.95, amount=100),
        make_alert(101, 20, score=0.99, amount=-50),
        make_alert(101, 55),
    )
    b1 = make_alert(202, 3, score=0.97, amount=40)
    make_alert(202, 4, flagged=False)  # not an alert

    outcome = group_alerts_into_cases(version, window_days_=30)

    assert outcome.alerts == 4 and len(outcome.opened) == 3 and outcome.joined == []
    assert cases_by_customer() == {
        101: [[a1.transaction_id, a2.transaction_id], [a3.transaction_id]],
        202: [[b1.transaction_id]],
    }
    first = Case.objects.get(links__transaction_id=a1.transaction_id)
    assert (first.status, first.alert_count, first.max_score) == (Case.Status.OPEN, 2, 0.99)
    assert first.value_at_risk == 150.0  # |100| + |-50|: a refund is at risk too
    assert first.first_alert_at == a1.invoice_date and first.last_alert_at == a2.invoice_date
    assert first.country == "France" and first.sla_due_at > first.opened_at
    assert list(first.events.values_list("to_status", "note")) == [("open", "opened with 2 alerts")]
    opened = Event.objects.filter(type="case.opened")
    assert sorted(event.data["id"] for event in opened) == sorted(outcome.opened)
    assert Event.objects.filter(type="alert.created").count() == 0  # old alerts are not news

    again = group_alerts_into_cases(version, window_days_=30)
    assert (again.alerts, again.opened) == (0, [])
    assert CaseTransaction.objects.count() == 4


def test_a_new_alert_within_the_window_joins_the_open_case_and_is_announced(version, make_alert):
    make_alert(101, 0, score=0.9, amount=10)
    group_alerts_into_cases(version, window_days_=30)
    case = Case.objects.get()

    joining = make_alert(101, 25, score=0.995, amount=-30)
    outcome = add_alerts([joining.transaction_id], version=version)

    assert outcome.joined == [case.pk] and outcome.opened == []
    case.refresh_from_db()
    assert (case.alert_count, case.value_at_risk, case.max_score) == (2, 40.0, 0.995)
    assert case.last_alert_at == joining.invoice_date
    assert case.events.last().note == "1 alerts added"
    created = Event.objects.get(type="alert.created")
    assert created.data["transaction_id"] == joining.transaction_id and created.data["case_id"] == case.pk
    assert created.data["anomaly_score"] == 0.995 and created.data["model_version"] == version.pk

    later = make_alert(101, 25 + 31)
    assert len(add_alerts([later.transaction_id], version=version).opened) == 1
    assert Case.objects.filter(customer_id=101).count() == 2


def test_an_alert_after_the_case_closed_opens_a_new_case(version, make_alert, admin_user):
    from cases.services import close_case

    make_alert(101, 0)
    group_alerts_into_cases(version)
    close_case(Case.objects.get().pk, actor=admin_user, verdict=Case.Status.CLOSED_LEGITIMATE)

    outcome = add_alerts([make_alert(101, 1).transaction_id], version=version)

    assert len(outcome.opened) == 1 and Case.objects.filter(status=Case.Status.OPEN).count() == 1


def test_add_alerts_ignores_unflagged_and_already_placed_rows(version, make_alert):
    quiet = make_alert(101, 0, flagged=False)
    loud = make_alert(101, 1)

    assert add_alerts([quiet.transaction_id, loud.transaction_id], version=version).alerts == 1
    assert add_alerts([loud.transaction_id], version=version).alerts == 0
    assert CaseTransaction.objects.count() == 1


def test_the_scores_written_signal_places_new_alerts_of_the_active_version_only(version, make_alert):
    alert = make_alert(101, 0)
    retired = ModelVersion.objects.create(status=ModelVersion.Status.RETIRED)

    with transaction.atomic():
        scores_written.send(sender=ModelVersion, version=retired, transaction_ids=[alert.transaction_id])
    assert Case.objects.count() == 0

    with transaction.atomic():
        scores_written.send(sender=ModelVersion, version=version, transaction_ids=[alert.transaction_id])
    assert CaseTransaction.objects.get().transaction_id == alert.transaction_id


def test_a_stored_api_score_joins_its_customers_open_case(
    trained_version, admin_client, django_capture_on_commit_callbacks
):
    from tests.api.conftest import source_row

    group_alerts_into_cases(trained_version)
    link = CaseTransaction.objects.select_related("case").order_by("-case__max_score").first()
    score = trained_version.scores.get(transaction_id=link.transaction_id)

    body = {"rows": [source_row(score, Quantity=50_000)], "store": True}
    response = admin_client.post("/api/score", json.dumps(body), content_type="application/json")

    assert response.status_code == 200
    row = response.json()["rows"][0]
    assert row["is_flagged"] and row["stored"]
    joined = CaseTransaction.objects.get(transaction_id=row["transaction_id"])
    assert joined.case_id == link.case_id
    alert = Event.objects.get(type="alert.created")
    assert alert.data["transaction_id"] == row["transaction_id"] and alert.data["case_id"] == link.case_id
    assert CaseEvent.objects.filter(case_id=link.case_id, note="1 alerts added").exists()


def test_the_group_cases_command_reports_what_it_placed(version, make_alert):
    from io import StringIO

    from django.core.management import call_command

    make_alert(101, 0)
    make_alert(101, 40)
    out = StringIO()

    call_command("group_cases", "--window-days", "30", stdout=out)

    assert out.getvalue().startswith("2 alerts placed: 2 cases opened, 0 open cases joined (window 30 days")
