"""Publishing, the audit trail, re-deciding stored rows, backtests, the threshold view and list rules."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from core.errors import InvalidInput
from decisions import selectors, services
from decisions.engine import risk_scores
from decisions.models import AuditEvent, ListEntry, Policy, TransactionDecision, ValueList
from reviews.models import Review
from tests.factories import ModelVersionFactory, ReviewFactory, TransactionScoreFactory

HIGH_SPEND = {"all": [{"field": "total_spent", "op": "gt", "value": 500}]}
HIGH_RISK_COUNTRY = {"any": [{"field": "country", "op": "in_list", "value": "high-risk countries"}]}


@pytest.fixture
def ana(db) -> User:
    return User.objects.create_user("ana", is_staff=True)


@pytest.fixture
def high_risk(ana) -> ValueList:
    value_list = services.create_list(name="high-risk countries", kind="country", user=ana)
    services.add_list_entries(value_list=value_list, values=["Nigeria"], user=ana)
    return value_list


def test_there_is_always_one_published_policy(db):
    assert Policy.objects.filter(status="published").count() == 1
    assert (selectors.published_policy().review_at, selectors.published_policy().block_at) == (65, 75)


def test_publishing_archives_the_previous_version_and_keeps_it(ana):
    first = selectors.published_policy()
    draft = services.create_draft(user=ana, name="block big spend")
    services.save_rule(policy=draft, data={"name": "big", "action": "block", "condition": HIGH_SPEND}, user=ana)
    services.publish_policy(policy=draft, user=ana, redecide=False)
    first.refresh_from_db()
    assert (first.status, selectors.published_policy().pk) == ("archived", draft.pk)
    assert first.rules.count() == 0 and draft.rules.count() == 1
    with pytest.raises(services.PolicyNotDraft):
        services.publish_policy(policy=first, user=ana)


def test_a_failure_mid_publish_leaves_the_old_version_published(ana, monkeypatch):
    first = selectors.published_policy()
    draft = services.create_draft(user=ana)

    def broken_record(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "record", broken_record)
    with pytest.raises(RuntimeError):
        services.publish_policy(policy=draft, user=ana, redecide=False)
    assert selectors.published_policy().pk == first.pk
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_every_change_is_audited_with_who_and_before_after(ana, high_risk):
    draft = services.create_draft(user=ana)
    rule = services.save_rule(
        policy=draft, data={"name": "risky", "action": "review", "condition": HIGH_RISK_COUNTRY}, user=ana
    )
    services.save_rule(
        policy=draft,
        data={"name": "risky", "action": "block", "condition": HIGH_RISK_COUNTRY},
        user=ana,
        rule=rule,
    )
    services.set_thresholds(policy=draft, review_at=60, block_at=80, user=ana)
    services.publish_policy(policy=draft, user=ana, redecide=False)
    events = list(AuditEvent.objects.order_by("id").values_list("actor__username", "action", "object_type"))
    assert events == [
        ("ana", "create", "valuelist"),
        ("ana", "create", "valuelist"),  # the entries
        ("ana", "create", "policy"),
        ("ana", "create", "rule"),
        ("ana", "update", "rule"),
        ("ana", "update", "policy"),
        ("ana", "publish", "policy"),
    ]
    update = AuditEvent.objects.get(action="update", object_type="rule")
    assert (update.before["action"], update.after["action"]) == ("review", "block")
    thresholds = AuditEvent.objects.get(action="update", object_type="policy")
    assert thresholds.before == {"review_at": 65, "block_at": 75}
    assert thresholds.after == {"review_at": 60, "block_at": 80}
    publish = AuditEvent.objects.get(action="publish")
    assert publish.before["status"] == "published" and publish.after["rules"][0]["name"] == "risky"


def test_thresholds_out_of_order_are_refused(ana):
    draft = services.create_draft(user=ana)
    with pytest.raises(InvalidInput) as caught:
        services.set_thresholds(policy=draft, review_at=80, block_at=70, user=ana)
    assert list(caught.value.errors) == ["review_at"]
    with pytest.raises(InvalidInput) as caught:
        services.set_thresholds(policy=draft, review_at=-1, block_at=100, user=ana)
    assert set(caught.value.errors) == {"review_at", "block_at"}


def test_a_list_a_published_rule_uses_cannot_be_deleted(ana, high_risk):
    draft = services.create_draft(user=ana)
    services.save_rule(
        policy=draft, data={"name": "risky", "action": "review", "condition": HIGH_RISK_COUNTRY}, user=ana
    )
    services.delete_list(value_list=services.create_list(name="unused", kind="country", user=ana), user=ana)
    services.publish_policy(policy=draft, user=ana, redecide=False)
    with pytest.raises(services.ListInUse) as caught:
        services.delete_list(value_list=high_risk, user=ana)
    assert "'risky'" in caught.value.errors["list"][0]
    assert ValueList.objects.filter(pk=high_risk.pk).exists()


def test_list_entries_are_typed_and_bad_ones_refused(ana):
    customers = services.create_list(name="trusted wholesalers", kind="customer_id", user=ana)
    assert services.add_list_entries(value_list=customers, values=["15311.0", 15311, "12347"], user=ana) == 2
    with pytest.raises(InvalidInput) as caught:
        services.add_list_entries(value_list=customers, values=["12348", "abc", 1.5], user=ana)
    assert set(caught.value.errors) == {"values[1]", "values[2]"}
    assert sorted(ListEntry.objects.values_list("value", flat=True)) == ["12347", "15311"]
    assert services.import_list_csv(value_list=customers, text="CustomerID\n12350\n12351\n12347\n", user=ana) == 2


def test_redecide_writes_one_decision_per_stored_row(ana, high_risk, version, scores):
    draft = services.create_draft(user=ana)
    services.save_rule(
        policy=draft, data={"name": "risky", "action": "block", "condition": HIGH_RISK_COUNTRY}, user=ana
    )
    services.publish_policy(policy=draft, user=ana, redecide=False)
    assert services.redecide_version(chunk_size=32) == len(scores)
    assert services.redecide_version(chunk_size=1000) == len(scores)  # replaces, never duplicates
    assert TransactionDecision.objects.count() == len(scores)
    nigeria = TransactionDecision.objects.filter(score__country="Nigeria")
    assert nigeria.exists() and set(nigeria.values_list("decision", flat=True)) == {"block"}
    one = nigeria.first()
    assert one.reasons[:2] == ["rule 'risky' (block)", "list 'high-risk countries' has country"]
    assert one.policy_id == draft.pk and one.risk == risk_scores([one.score.anomaly_score])[0]
    # the stored decisions agree with the SQL backtest of the same policy
    figures = selectors.backtest(draft, version=version)
    stored = {d: TransactionDecision.objects.filter(decision=d).count() for d in ("approve", "review", "block")}
    assert figures["decisions"] == stored


def test_backtest_figures_on_reviewed_rows(ana):
    version = ModelVersionFactory()
    big = [TransactionScoreFactory(model_version=version, total_spent=900.0) for _ in range(4)]
    small = [TransactionScoreFactory(model_version=version, total_spent=10.0) for _ in range(6)]
    flagged = TransactionScoreFactory(model_version=version, flagged=True, anomaly_score=0.999)  # risk 99
    ReviewFactory(transaction=big[0].transaction, status=Review.Status.CONFIRMED_FRAUD)
    ReviewFactory(transaction=big[1].transaction, status=Review.Status.FALSE_POSITIVE)
    ReviewFactory(transaction=small[0].transaction, status=Review.Status.CONFIRMED_FRAUD)
    ReviewFactory(transaction=flagged.transaction, status=Review.Status.FALSE_POSITIVE)
    draft = services.create_draft(user=ana)
    services.save_rule(policy=draft, data={"name": "big", "action": "review", "condition": HIGH_SPEND}, user=ana)
    figures = selectors.backtest(draft, version=version)
    assert figures["rows"] == 11
    assert figures["rules"] == [
        {"name": "big", "action": "review", "matches": 4, "confirmed_fraud": 1, "false_positive": 1}
    ]
    assert figures["decisions"] == {"approve": 6, "review": 4, "block": 1}
    assert figures["alerts"] == 5
    assert (figures["confirmed_fraud"], figures["false_positive"]) == (1, 2)
    assert sum(day["alerts"] for day in figures["by_day"]) == 5
    assert figures["alerts_per_day"] == round(5 / figures["days"], 2)


def test_threshold_view_counts_alerts_fraud_caught_and_false_positives(db):
    version = ModelVersionFactory()
    scores = (0.1, 0.5, 0.99, 0.992, 0.996, 0.9985)  # risk 2, 10, 66, 69, 79, 93
    rows = [TransactionScoreFactory(model_version=version, anomaly_score=s) for s in scores]
    ReviewFactory(transaction=rows[0].transaction, status=Review.Status.CONFIRMED_FRAUD)  # missed at 65
    ReviewFactory(transaction=rows[4].transaction, status=Review.Status.CONFIRMED_FRAUD)  # caught
    ReviewFactory(transaction=rows[3].transaction, status=Review.Status.FALSE_POSITIVE)  # alerted
    ReviewFactory(transaction=rows[1].transaction, status=Review.Status.FALSE_POSITIVE)  # not alerted
    view = selectors.threshold_view(review_at=65, block_at=75, version=version)
    assert (view["alerts"], view["reviews"], view["blocks"]) == (4, 2, 2)
    assert (view["labelled_fraud"], view["fraud_caught"], view["fraud_caught_share"]) == (2, 1, 0.5)
    assert view["false_positives"] == 1
    stricter = selectors.threshold_view(review_at=90, block_at=99, version=version)
    assert (stricter["alerts"], stricter["blocks"], stricter["false_positives"]) == (1, 0, 0)


def test_publishing_redecides_stored_rows_in_the_background(
    ana, sync_jobs, version, scores, django_capture_on_commit_callbacks
):
    draft = services.create_draft(user=ana)
    services.set_thresholds(policy=draft, review_at=0, block_at=99, user=ana)
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_policy(policy=draft, user=ana)
    assert TransactionDecision.objects.filter(policy=draft).count() == len(scores)


def test_the_command_redecides_the_active_model(version, scores, capsys):
    from django.core.management import call_command

    call_command("decide_transactions", chunk_size=50)
    assert TransactionDecision.objects.count() == len(scores)
    assert f"{len(scores):,} rows decided under policy v" in capsys.readouterr().out


def test_only_undecided_rows_are_decided_when_asked(version, scores):
    from django.core.management import call_command

    services.redecide_version()
    TransactionDecision.objects.filter(score_id__in=[s.pk for s in scores[:7]]).delete()
    new = TransactionScoreFactory(model_version=version)
    assert services.decide_undecided() == 8
    call_command("decide_transactions", undecided=True)
    assert TransactionDecision.objects.count() == len(scores) + 1
    assert TransactionDecision.objects.filter(score=new).exists()
