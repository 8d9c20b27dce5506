"""The decision admin: form errors for bad rules and thresholds, the backtest before publishing,
CSV import of list entries, lists that published rules read cannot be deleted, a read-only audit log."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from decisions import selectors, services
from decisions.models import AuditEvent, ListEntry, Policy, Rule, ValueList

HIGH_SPEND = {"all": [{"field": "total_spent", "op": "gt", "value": 500}]}


def rule_form(policy: Policy, condition, **changes) -> dict:
    return {
        "policy": policy.pk,
        "order": 0,
        "action": "block",
        "name": "big",
        "reason": "",
        "condition": json.dumps(condition),
        "is_enabled": "on",
        **changes,
    }


def test_a_bad_condition_is_a_form_error_naming_the_part(admin_client, db):
    draft = services.create_draft(user=None)
    bad = {"all": [{"field": "total_spent", "op": "gt", "value": "lots"}]}
    response = admin_client.post("/admin/decisions/rule/add/", rule_form(draft, bad))
    assert response.status_code == 200
    assert "condition.all[0].value" in str(response.context["adminform"].form.errors["condition"])
    assert not Rule.objects.exists()


def test_a_rule_saved_in_the_admin_is_audited_and_shows_its_backtest(admin_client, admin_user, version, scores):
    draft = services.create_draft(user=None)
    response = admin_client.post("/admin/decisions/rule/add/", rule_form(draft, HIGH_SPEND))
    assert response.status_code == 302
    rule = Rule.objects.get()
    assert AuditEvent.objects.filter(object_type="rule", actor=admin_user, action="create").exists()
    page = admin_client.get(f"/admin/decisions/rule/{rule.pk}/change/").content.decode()
    expected = sum(1 for score in scores if score.total_spent > 500)
    assert f"would have matched {expected:,} past rows" in page
    policy_page = admin_client.get(f"/admin/decisions/policy/{draft.pk}/change/").content.decode()
    assert f"block 'big': would have matched {expected} past rows" in policy_page


def test_thresholds_out_of_order_are_a_form_error(admin_client, db):
    draft = services.create_draft(user=None)
    response = admin_client.post(
        f"/admin/decisions/policy/{draft.pk}/change/",
        {"name": "x", "review_at": 90, "block_at": 80, "rules-TOTAL_FORMS": 0, "rules-INITIAL_FORMS": 0},
    )
    assert response.status_code == 200
    assert "review_at" in response.context["adminform"].form.errors


def test_publish_action(admin_client, db):
    draft = services.create_draft(user=None)
    response = admin_client.post(
        "/admin/decisions/policy/", {"action": "publish", "_selected_action": [draft.pk]}, follow=True
    )
    assert response.status_code == 200
    assert selectors.published_policy().pk == draft.pk


def test_one_row_actions_refuse_any_other_count_and_change_nothing(admin_client, db):
    first, second = services.create_draft(user=None), services.create_draft(user=None)
    for action, task in [("publish", "draft to publish"), ("new_draft", "version to copy")]:
        response = admin_client.post(
            "/admin/decisions/policy/", {"action": action, "_selected_action": [first.pk, second.pk]}, follow=True
        )
        assert [str(message) for message in response.context["messages"]] == [f"Select exactly one {task}."]
    assert set(Policy.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"draft"}
    assert not Policy.objects.filter(based_on__in=[first, second]).exists()


def test_new_draft_action_copies_the_one_selected_version(admin_client, db):
    based_on = services.create_draft(user=None)
    admin_client.post("/admin/decisions/policy/", {"action": "new_draft", "_selected_action": [based_on.pk]})
    assert Policy.objects.filter(based_on=based_on).count() == 1


def test_csv_import_adds_entries_and_refuses_bad_values(admin_client, admin_user, db):
    value_list = services.create_list(name="trusted wholesalers", kind="customer_id", user=None)
    url = f"/admin/decisions/valuelist/{value_list.pk}/import/"
    csv_file = SimpleUploadedFile("ids.csv", b"CustomerID\n15311\n12347.0\n")
    assert admin_client.post(url, {"file": csv_file}).status_code == 302
    assert sorted(ListEntry.objects.values_list("value", flat=True)) == ["12347", "15311"]
    assert set(ListEntry.objects.values_list("added_by", flat=True)) == {admin_user.pk}
    bad = admin_client.post(url, {"file": SimpleUploadedFile("ids.csv", b"12\nabc\n")})
    assert bad.status_code == 200 and "file" in bad.context["form"].errors
    assert ListEntry.objects.count() == 2


def test_a_list_a_published_rule_reads_cannot_be_deleted_in_the_admin(admin_client, db):
    value_list = services.create_list(name="high-risk countries", kind="country", user=None)
    draft = services.create_draft(user=None)
    condition = {"any": [{"field": "country", "op": "in_list", "value": "high-risk countries"}]}
    services.save_rule(policy=draft, data={"name": "risky", "action": "review", "condition": condition}, user=None)
    services.publish_policy(policy=draft, user=None, redecide=False)
    page = admin_client.post(f"/admin/decisions/valuelist/{value_list.pk}/delete/", {"post": "yes"})
    assert page.status_code == 200 and "Cannot delete" in page.content.decode()
    assert ValueList.objects.filter(pk=value_list.pk).exists()


def test_the_audit_log_is_read_only(admin_client, db):
    services.create_draft(user=None)
    event = AuditEvent.objects.get()
    assert admin_client.get("/admin/decisions/auditevent/").status_code == 200
    assert admin_client.get("/admin/decisions/auditevent/add/").status_code == 403
    page = admin_client.get(f"/admin/decisions/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()


@pytest.mark.parametrize("page", ["policy", "rule", "valuelist", "auditevent"])
def test_changelists_answer(admin_client, db, page):
    assert admin_client.get(f"/admin/decisions/{page}/").status_code == 200
