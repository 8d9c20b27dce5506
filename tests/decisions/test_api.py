"""The decision layer over HTTP: /api/score rows carry decisions, lists and policies with permissions,
the decision filter of /api/transactions/, and bad input named in 400s."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from decisions import selectors, services
from decisions.engine import risk_cutoff
from decisions.models import ListEntry, TransactionDecision, ValueList
from detection.models import TransactionScore
from transactions.selectors import source_row

HIGH_SPEND = {"all": [{"field": "total_spent", "op": "gt", "value": 500}]}


def client_with(*codenames: str, username: str = "fraud-lead") -> APIClient:
    user = User.objects.create_user(username)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="decisions", codename__in=codenames))
    if codenames:  # a fraud lead also reads scores, as an analyst does
        user.user_permissions.add(Permission.objects.get(codename="view_transactionscore"))
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def lead(db) -> APIClient:
    """A user with every decisions permission (view, add, change, delete, publish)."""
    codenames = [p.codename for p in Permission.objects.filter(content_type__app_label="decisions")]
    return client_with(*codenames)


@pytest.fixture
def plain(db) -> APIClient:
    return client_with(username="plain")


# --- /api/score (end to end: ingest and train) -------------------------------------------------------


def test_every_scored_row_has_a_decision_and_reasons(trained_version, lead):
    scores = list(TransactionScore.objects.filter(model_version=trained_version).select_related("transaction")[:40])
    blocked, trusted = scores[0].customer_id, scores[1].customer_id
    blocked_list = services.create_list(name="blocked customers", kind="customer_id", user=None)
    services.add_list_entries(value_list=blocked_list, values=[blocked], user=None)
    trusted_list = services.create_list(name="trusted wholesalers", kind="customer_id", user=None)
    services.add_list_entries(value_list=trusted_list, values=[trusted], user=None)
    draft = services.create_draft(user=None)
    for name, action, list_name in (
        ("blocked", "block", "blocked customers"),
        ("trusted", "approve", "trusted wholesalers"),
    ):
        condition = {"any": [{"field": "customer_id", "op": "in_list", "value": list_name}]}
        services.save_rule(policy=draft, data={"name": name, "action": action, "condition": condition}, user=None)
    services.set_thresholds(policy=draft, review_at=0, block_at=99, user=None)  # everything else: review
    services.publish_policy(policy=draft, user=None, redecide=False)

    rows = [{**source_row(score.transaction), "InvoiceNo": f"T{i}"} for i, score in enumerate(scores)]
    response = lead.post("/api/score", {"rows": rows}, format="json")

    assert response.status_code == 200, response.json()
    payload = response.json()["rows"]
    assert len(payload) == len(scores)
    assert all(
        row["decision"] in {"approve", "review", "block"} and isinstance(row["reasons"], list) for row in payload
    )
    by_customer = {row["CustomerID"]: row for row in payload}
    assert by_customer[blocked]["decision"] == "block"
    assert "list 'blocked customers' has customer_id" in by_customer[blocked]["reasons"]
    assert by_customer[trusted]["decision"] == "approve"  # the allow list wins over the review threshold
    assert "risk >= review_at 0" in by_customer[trusted]["reasons"]
    others = [row for row in payload if row["CustomerID"] not in (blocked, trusted)]
    assert {row["decision"] for row in others} <= {"review", "block"}


# --- Policies ----------------------------------------------------------------------------------------


def test_policies_are_read_backtested_and_published_with_permissions(lead, plain, version, scores):
    assert plain.get("/api/policies/").status_code == 403
    assert APIClient().get("/api/policies/").status_code in (401, 403)
    draft = lead.post("/api/policies/", {"name": "big spend"}, format="json").json()
    rule = lead.post(
        f"/api/policies/{draft['id']}/rules",
        {"name": "big", "action": "block", "reason": "over 500", "condition": HIGH_SPEND},
        format="json",
    )
    assert rule.status_code == 201, rule.json()
    backtest = lead.post(f"/api/policies/{draft['id']}/backtest").json()
    expected = sum(1 for score in scores if score.total_spent > 500)
    assert backtest["rules"][0]["matches"] == expected > 0
    assert sum(backtest["decisions"].values()) == len(scores)

    viewer = client_with("view_policy", username="viewer")
    assert viewer.post(f"/api/policies/{draft['id']}/publish").status_code == 403
    published = lead.post(f"/api/policies/{draft['id']}/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert selectors.published_policy().pk == draft["id"]
    listed = viewer.get("/api/policies/").json()
    assert [p["status"] for p in listed][:2] == ["published", "archived"]


BAD_RULES = {
    "unknown field": ({"all": [{"field": "colour", "op": "eq", "value": 1}]}, "condition.all[0].field"),
    "unknown operator": ({"all": [{"field": "total_spent", "op": "like", "value": 1}]}, "condition.all[0].op"),
    "wrong type": ({"all": [{"field": "total_spent", "op": "gt", "value": "lots"}]}, "condition.all[0].value"),
    "empty list": ({"any": [{"field": "country", "op": "in", "value": []}]}, "condition.any[0].value"),
    "empty any": ({"any": []}, "condition.any"),
}


@pytest.mark.parametrize("name", list(BAD_RULES))
def test_a_bad_rule_is_a_400_naming_the_part(lead, name):
    condition, path = BAD_RULES[name]
    draft = lead.post("/api/policies/", {}, format="json").json()
    response = lead.post(
        f"/api/policies/{draft['id']}/rules", {"name": "r", "action": "block", "condition": condition}, format="json"
    )
    assert response.status_code == 400
    assert path in response.json()["errors"], response.json()


def test_thresholds_out_of_order_are_a_400_naming_review_at(lead, version, scores):
    draft = lead.post("/api/policies/", {}, format="json").json()
    response = lead.put(f"/api/policies/{draft['id']}/thresholds", {"review_at": 90, "block_at": 80}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["review_at"]
    view = lead.get("/api/thresholds", {"review_at": 90, "block_at": 80})
    assert view.status_code == 400 and "review_at" in view.json()["errors"]
    view = lead.get("/api/thresholds", {"review_at": 60, "block_at": 80})
    expected = sum(1 for s in scores if s.anomaly_score >= risk_cutoff(60))
    assert view.status_code == 200 and view.json()["alerts"] == expected


def test_publishing_a_rule_changes_nothing_of_a_published_version(lead):
    published = selectors.published_policy()
    response = lead.post(
        f"/api/policies/{published.pk}/rules", {"name": "r", "action": "block", "condition": HIGH_SPEND}, format="json"
    )
    assert response.status_code == 400 and "policy" in response.json()["errors"]


# --- Lists -------------------------------------------------------------------------------------------


def test_list_entries_crud_and_csv_import(lead, plain):
    created = lead.post("/api/lists/", {"name": "trusted wholesalers", "kind": "customer_id"}, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    assert plain.post(f"/api/lists/{pk}/entries", {"values": [1]}, format="json").status_code == 403
    added = lead.post(f"/api/lists/{pk}/entries", {"values": ["15311", 12347.0]}, format="json")
    assert added.status_code == 201 and added.json() == {"added": 2}
    imported = lead.post(f"/api/lists/{pk}/entries", {"csv": "CustomerID\n12350\n15311\n"}, format="json")
    assert imported.json() == {"added": 1}
    entries = lead.get(f"/api/lists/{pk}/entries").json()
    assert [e["value"] for e in entries] == ["12347", "12350", "15311"]
    assert entries[0]["added_by"] == "fraud-lead"
    bad = lead.post(f"/api/lists/{pk}/entries", {"values": ["x"]}, format="json")
    assert bad.status_code == 400 and "values[0]" in bad.json()["errors"]
    assert lead.delete(f"/api/lists/{pk}/entries/{entries[0]['id']}").status_code == 204
    assert ListEntry.objects.count() == 2


def test_a_list_a_published_rule_reads_cannot_be_deleted(lead):
    pk = lead.post("/api/lists/", {"name": "high-risk countries", "kind": "country"}, format="json").json()["id"]
    draft = lead.post("/api/policies/", {}, format="json").json()
    condition = {"any": [{"field": "country", "op": "in_list", "value": "high-risk countries"}]}
    lead.post(
        f"/api/policies/{draft['id']}/rules",
        {"name": "risky", "action": "review", "condition": condition},
        format="json",
    )
    lead.post(f"/api/policies/{draft['id']}/publish")
    response = lead.delete(f"/api/lists/{pk}")
    assert response.status_code == 400 and "list" in response.json()["errors"]
    assert ValueList.objects.filter(pk=pk).exists()


def test_a_bad_list_kind_is_a_400(lead):
    response = lead.post("/api/lists/", {"name": "x", "kind": "email"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()["errors"]


# --- /api/transactions/ and the admin queue ----------------------------------------------------------


def test_transactions_filter_by_decision(lead, version, scores):
    services.redecide_version()
    expected = TransactionDecision.objects.filter(decision="review").count()
    assert expected > 0
    response = lead.get("/api/transactions/", {"decision": "review", "page_size": 500})
    assert response.status_code == 200 and len(response.json()["results"]) == expected
    bad = lead.get("/api/transactions/", {"decision": "maybe"})
    assert bad.status_code == 400 and "decision" in bad.json()["errors"]


def test_the_review_queue_shows_and_filters_decisions_in_few_queries(
    admin_client, version, scores, django_assert_max_num_queries
):
    services.redecide_version()
    with django_assert_max_num_queries(12):
        page = admin_client.get("/admin/detection/transactionscore/", {"decision": "block"})
    assert page.status_code == 200
    blocks = TransactionDecision.objects.filter(decision="block").count()
    assert page.content.decode().count('">block</span>') == min(blocks, 100) > 0


def test_the_dashboard_threshold_panel_calls_the_selector(version, scores):
    from dashboard.dash_app import threshold_effect

    expected = sum(1 for score in scores if score.anomaly_score >= risk_cutoff(65))
    text = threshold_effect(65, 75).children
    assert (
        "alerts per day" in text
        and f"({expected - sum(1 for s in scores if s.anomaly_score >= risk_cutoff(75)):,} reviews" in text
    )
    assert "must not be above" in threshold_effect(80, 70).children


def test_rule_fields_of_the_wrong_type_are_named(lead):
    draft = lead.post("/api/policies/", {}, format="json").json()
    body = {"name": "r", "action": "maybe", "order": "first", "is_enabled": "yes", "condition": HIGH_SPEND}
    response = lead.post(f"/api/policies/{draft['id']}/rules", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"action", "order", "is_enabled"}


def test_list_values_must_be_text_or_numbers(lead):
    pk = lead.post("/api/lists/", {"name": "c", "kind": "country"}, format="json").json()["id"]
    response = lead.post(f"/api/lists/{pk}/entries", {"values": ["France", {"x": 1}, True]}, format="json")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"values[1]", "values[2]"}


def test_whoever_reads_scores_sees_what_thresholds_would_do_as_on_the_dashboard(version, scores, django_user_model):
    from rest_framework.test import APIClient

    from tests.security.conftest import grant

    reader = django_user_model.objects.create_user("scores-reader", password="a-long-pass-123456")
    client = APIClient()
    client.force_authenticate(reader)
    assert client.get("/api/thresholds", {"review_at": 60, "block_at": 80}).status_code == 403
    grant(reader, "detection.view_transactionscore")  # what the dashboard's threshold panel needs
    reader = django_user_model.objects.get(pk=reader.pk)  # permissions are cached per user object
    client.force_authenticate(reader)
    response = client.get("/api/thresholds", {"review_at": 60, "block_at": 80})
    assert response.status_code == 200
    assert response.json()["review_at"] == 60
