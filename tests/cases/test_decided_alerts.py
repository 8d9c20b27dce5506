"""Rows the policy decides review or block open or join a case, and a block emits decision.block."""

from __future__ import annotations

import pytest

from cases.models import CaseTransaction
from decisions import services as decisions
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def test_an_unflagged_row_decided_block_opens_a_case_and_emits_decision_block(make_alert) -> None:
    blocked = make_alert(12347, 3, score=0.996, flagged=False)  # risk 79: over the default block_at 75
    quiet = make_alert(12349, 3, score=0.2, flagged=False)  # risk 3: approve

    decisions.decide_scores([blocked.pk, quiet.pk], announce=True)

    placed = set(CaseTransaction.objects.values_list("transaction_id", flat=True))
    assert placed == {blocked.transaction_id}
    events = list(Event.objects.filter(type="decision.block").values_list("data", flat=True))
    assert [event["transaction_id"] for event in events] == [blocked.transaction_id]


def test_re_deciding_stored_rows_announces_nothing(make_alert) -> None:
    blocked = make_alert(12351, 3, score=0.996, flagged=False)

    decisions.decide_scores([blocked.pk])

    assert not CaseTransaction.objects.exists()
    assert not Event.objects.filter(type="decision.block").exists()
