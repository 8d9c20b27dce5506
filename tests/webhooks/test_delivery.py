"""Delivery to a real receiver on 127.0.0.1: signed bodies, retries, no duplicates, the outbox after a crash."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from webhooks import tasks
from webhooks.models import Delivery, Endpoint, Event
from webhooks.services import claim_due, deliver_due, emit, enable_endpoint

from .conftest import SECRET

README = Path(__file__).resolve().parents[2] / "README.md"
pytestmark = pytest.mark.django_db


def readme_verify():
    """The `verify` function of the README's "Verifying a signature" snippet, executed as written."""
    text = README.read_text()
    section = text[text.index("### Verifying a signature") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # the documented snippet itself, so the README cannot drift from the scheme
    return namespace["verify"]


def emit_committed(django_capture_on_commit_callbacks, event_type="alert.created", data=None, *, run=True):
    """Emit in a transaction and, with `run`, run what is queued on its commit (the delivery task, sync)."""
    with django_capture_on_commit_callbacks(execute=run) as callbacks, transaction.atomic():
        event = emit(event_type, data or {"transaction_id": 7, "anomaly_score": 0.99})
    return event, callbacks


def test_a_committed_event_is_delivered_signed_and_verifies(
    endpoint, receiver, sync_jobs, django_capture_on_commit_callbacks
):
    event, callbacks = emit_committed(django_capture_on_commit_callbacks)

    assert len(callbacks) == 1 and len(receiver.received) == 1
    received = receiver.received[0]
    body = json.loads(received.body)
    assert body == {
        "id": str(event.id),
        "type": "alert.created",
        "created": int(event.created_at.timestamp()),
        "data": {"transaction_id": 7, "anomaly_score": 0.99},
    }
    verify = readme_verify()
    assert verify(SECRET, received.headers["X-Signature"], received.body)
    assert not verify(SECRET, received.headers["X-Signature"], received.body.replace(b"0.99", b"0.10"))
    assert not verify("another-secret-of-at-least-32-bytes!!", received.headers["X-Signature"], received.body)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.status_code) == (Delivery.Status.DELIVERED, 1, 200)
    assert delivery.duration_ms > 0 and delivery.delivered_at is not None


def test_an_old_signature_is_refused_by_the_readme_verify(endpoint):
    from webhooks.services import signature_header

    body = b'{"id":"x"}'
    verify = readme_verify()
    assert verify(SECRET, signature_header(SECRET, body.decode(), int(time.time())), body)
    assert not verify(SECRET, signature_header(SECRET, body.decode(), int(time.time()) - 3600), body)
    assert not verify(SECRET, "garbage", body)


def test_only_subscribed_active_endpoints_get_a_delivery(endpoint, receiver):
    from webhooks.services import create_endpoint

    create_endpoint(url=receiver.url, event_types=["decision.block"], secret=SECRET)
    Endpoint.objects.create(url=receiver.url, event_types=["alert.created"], secret=SECRET, is_active=False)

    emit("alert.created", {"n": 1})

    assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [endpoint.pk]


def test_a_500_is_retried_with_exponential_backoff_then_delivered(endpoint, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver.statuses.extend([500, 503])
    event = emit("case.opened", {"id": 1})
    now = timezone.now()

    assert deliver_due(now=now)["failed"] == 1
    first = Delivery.objects.get()
    assert (first.status, first.attempts, first.status_code) == (Delivery.Status.PENDING, 1, 500)
    assert first.next_attempt_at == now + timedelta(seconds=30) and "HTTP 500" in first.error
    assert deliver_due(now=now + timedelta(seconds=29))["failed"] == 0  # not due yet: nothing sent

    assert deliver_due(now=now + timedelta(seconds=31))["failed"] == 1
    second = Delivery.objects.get()
    assert second.attempts == 2 and second.next_attempt_at == now + timedelta(seconds=31 + 60)

    assert deliver_due(now=now + timedelta(seconds=92))["delivered"] == 1
    delivered = Delivery.objects.get()
    assert (delivered.status, delivered.attempts, delivered.status_code, delivered.error) == ("delivered", 3, 200, "")
    assert [json.loads(r.body)["id"] for r in receiver.received] == [str(event.id)] * 3
    assert Endpoint.objects.get().failing_since is None


def test_one_event_is_never_delivered_twice_to_one_endpoint(endpoint, receiver):
    event = emit("alert.created", {"n": 1})
    now = timezone.now()

    claimed = claim_due(now, 50)  # worker A takes it ...
    assert claim_due(now, 50) == []  # ... worker B finds nothing to take
    assert sum(deliver_due(now=now).values()) == 0
    from webhooks.services import attempt_delivery

    assert [attempt_delivery(pk) for pk in claimed] == ["delivered"]
    assert deliver_due()["delivered"] == 0 and tasks.deliver_pending()["delivered"] == 0
    assert len(receiver.received) == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(event=event, endpoint=endpoint)


def test_the_outbox_survives_a_worker_killed_before_delivering(
    endpoint, receiver, sync_jobs, django_capture_on_commit_callbacks
):
    # The change commits with its event, but the on-commit delivery task never runs (the worker died).
    event, callbacks = emit_committed(django_capture_on_commit_callbacks, run=False)
    assert len(callbacks) == 1 and receiver.received == []
    assert Delivery.objects.get().status == Delivery.Status.PENDING

    assert tasks.deliver_pending()["delivered"] == 1  # the periodic sweep
    assert tasks.deliver_pending()["delivered"] == 0
    assert [json.loads(r.body)["id"] for r in receiver.received] == [str(event.id)]


def test_a_worker_killed_while_sending_hands_the_delivery_back_after_the_lease(endpoint, receiver, settings):
    settings.WEBHOOK_CLAIM_LEASE_SECONDS = 120
    emit("alert.created", {"n": 1})
    then = timezone.now()
    claim_due(then, 50)  # claimed, then the worker is killed before sending

    assert deliver_due(now=then + timedelta(seconds=60))["delivered"] == 0  # still leased
    result = deliver_due(now=then + timedelta(seconds=121))
    assert (result["released"], result["delivered"]) == (1, 1)
    assert len(receiver.received) == 1


def test_a_rolled_back_change_emits_nothing(endpoint, receiver, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        emit("alert.created", {"n": 1})
        raise RuntimeError("the change failed")

    assert callbacks == [] and Event.objects.count() == 0 and Delivery.objects.count() == 0
    assert deliver_due()["delivered"] == 0 and receiver.received == []


def test_a_slow_receiver_times_out(endpoint, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.5
    emit("alert.created", {"n": 1})

    assert deliver_due()["failed"] == 1
    delivery = Delivery.objects.get()
    assert delivery.status_code is None and "Timeout" in delivery.error
    assert 250 <= delivery.duration_ms < 1_400


def test_an_endpoint_failing_for_a_day_is_disabled_and_can_be_enabled_again(endpoint, receiver):
    receiver.statuses.extend([500] * 10)
    emit("alert.created", {"n": 1})
    emit("alert.created", {"n": 2})
    now = timezone.now()

    assert deliver_due(now=now)["failed"] == 2
    assert Endpoint.objects.get().failing_since == now
    result = deliver_due(now=now + timedelta(days=1, seconds=1))
    assert result["disabled"] == 1
    disabled = Endpoint.objects.get()
    assert not disabled.is_active and disabled.disabled_at is not None
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.FAILED}
    assert deliver_due(now=now + timedelta(days=2))["failed"] == 0  # a disabled endpoint gets nothing

    receiver.statuses.clear()
    assert enable_endpoint(disabled) == 2
    assert deliver_due()["delivered"] == 2
    assert Endpoint.objects.get().is_active


def test_a_success_after_a_failure_in_one_sweep_clears_the_failing_mark(endpoint, receiver):
    receiver.statuses.append(500)
    emit("alert.created", {"n": 1})
    emit("alert.created", {"n": 2})

    result = deliver_due()

    assert (result["failed"], result["delivered"]) == (1, 1)
    assert Endpoint.objects.get().failing_since is None
