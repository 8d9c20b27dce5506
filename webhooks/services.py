"""Write paths for webhooks: registering endpoints, emitting events into the outbox, delivering them.

`emit` writes the event and one pending Delivery per subscribed endpoint inside the caller's
database transaction, and queues the delivery task once that transaction commits; if the worker
never runs it (a crash), the periodic sweep (`deliver_due`) finds the pending rows. A delivery is
claimed by a status transition (pending -> sending, one conditional UPDATE), so two workers never
send the same event to the same endpoint; a row left `sending` by a killed worker is handed back
after WEBHOOK_CLAIM_LEASE_SECONDS, so delivery is at least once and receivers de-duplicate by id.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from core.errors import InvalidInput

from .models import EVENT_TYPES, Delivery, Endpoint, Event

logger = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
SIGNATURE_HEADER = "X-Signature"
DELIVER_TASK = "webhooks.tasks.deliver_pending"


def setting(name: str) -> float:
    """A webhook setting read at call time (tests and benchmarks override them)."""
    defaults = {
        "WEBHOOK_TIMEOUT_SECONDS": 10.0,
        "WEBHOOK_RETRY_BASE_SECONDS": 30.0,  # 30 s, 1 min, 2 min, ... capped below
        "WEBHOOK_RETRY_MAX_SECONDS": 3600.0,
        "WEBHOOK_DISABLE_AFTER_SECONDS": 86400.0,  # an endpoint failing for a day is disabled
        "WEBHOOK_CLAIM_LEASE_SECONDS": 120.0,  # longer than a timed-out attempt
    }
    return float(getattr(settings, name, defaults[name]))


# --- registering endpoints -------------------------------------------------------------------


def internal_address(address: str) -> bool:
    """Whether `address` is private, loopback, link-local or otherwise not a public host."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified


def url_errors(url: str) -> list[str]:
    """Why `url` may not receive webhooks (empty when it may).

    Only http(s); a host that resolves to an internal address is refused unless DEBUG is on
    (SSRF: a registered URL must not reach this host's network). Checked again before each attempt,
    since DNS answers change.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return [f"not a valid URL: {exc}"]
    if parts.scheme not in ("http", "https"):
        return [f"the URL must start with http:// or https://, not {parts.scheme or 'nothing'}:"]
    if not parts.hostname:
        return ["the URL has no host"]
    if settings.DEBUG:
        return []
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        return [f"the host {parts.hostname} does not resolve: {exc}"]
    internal = sorted({info[4][0] for info in infos if internal_address(info[4][0])})
    if internal:
        return [f"the host {parts.hostname} resolves to a private, loopback or link-local address ({internal[0]})"]
    return []


def endpoint_errors(*, url: str, event_types: Sequence[str], secret: str) -> dict[str, list[str]]:
    """Field -> messages for an endpoint's url, event types and secret (empty when all are valid)."""
    errors: dict[str, list[str]] = {}
    if problems := url_errors(url):
        errors["url"] = problems
    unknown = [kind for kind in event_types if kind not in EVENT_TYPES]
    if unknown or not event_types:
        detail = f"unknown event type {unknown[0]!r}" if unknown else "choose at least one event type"
        errors["event_types"] = [f"{detail}; allowed: {', '.join(EVENT_TYPES)}"]
    if len(secret.encode()) < MIN_SECRET_BYTES:
        errors["secret"] = [f"the secret must be at least {MIN_SECRET_BYTES} bytes long"]
    return errors


def create_endpoint(*, url: str, event_types: Sequence[str], secret: str, description: str = "", created_by=None):
    """Register an endpoint and return it; raise InvalidInput naming each bad field."""
    errors = endpoint_errors(url=url, event_types=event_types, secret=secret)
    if errors:
        raise InvalidInput(errors=errors)
    return Endpoint.objects.create(
        url=url,
        event_types=sorted(set(event_types)),
        secret=secret,
        description=description,
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )


# --- the outbox ------------------------------------------------------------------------------


def emit(event_type: str, data: dict[str, Any]) -> Event:
    """Record one event and its pending deliveries in the caller's transaction; return it."""
    return emit_many(event_type, [data])[0]


def emit_many(event_type: str, items: Iterable[dict[str, Any]]) -> list[Event]:
    """Record one event per item (same type) with their deliveries; a few queries whatever the count.

    Delivery is queued on commit of the caller's transaction: a rolled-back change sends nothing.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    now = timezone.now()
    events = [Event(type=event_type, created_at=now, data=data) for data in items]
    if not events:
        return []
    with transaction.atomic():
        Event.objects.bulk_create(events, batch_size=1_000)
        endpoints = [e.pk for e in Endpoint.objects.filter(is_active=True) if event_type in e.event_types]
        Delivery.objects.bulk_create(
            [Delivery(event=event, endpoint_id=pk, next_attempt_at=now) for event in events for pk in endpoints],
            batch_size=1_000,
        )
        if endpoints:
            transaction.on_commit(queue_delivery)
    return events


def queue_delivery() -> None:
    """Queue the delivery task on django-q2; a failure to queue is left to the periodic sweep."""
    try:
        async_task(DELIVER_TASK, sync=bool(settings.Q_CLUSTER.get("sync", False)), group="webhooks")
    except Exception:  # the sweep delivers what is left
        logger.exception("could not queue webhook delivery")


# --- delivery --------------------------------------------------------------------------------


def event_body(event: Event) -> str:
    """The JSON body sent for `event`: {id, type, created, data}."""
    payload = {
        "id": str(event.id),
        "type": event.type,
        "created": int(event.created_at.timestamp()),
        "data": event.data,
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True)


def signature_header(secret: str, body: str, timestamp: int) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>` (Stripe's scheme)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None
    duration_ms: float
    error: str


def send(endpoint: Endpoint, event: Event, session: requests.Session | None = None) -> Attempt:
    """POST the signed event to the endpoint once; never raises for network or HTTP failures."""
    body = event_body(event)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature_header(endpoint.secret, body, int(time.time())),
        "X-Event-Id": str(event.id),
        "X-Event-Type": event.type,
        "User-Agent": "ecommerce-anomaly-webhooks/1",
    }
    started = time.perf_counter()
    if problems := url_errors(endpoint.url):
        return Attempt(False, None, 0.0, f"refused: {problems[0]}")
    try:
        response = (session or requests).post(
            endpoint.url,
            data=body.encode(),
            headers=headers,
            timeout=setting("WEBHOOK_TIMEOUT_SECONDS"),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return Attempt(False, None, _ms_since(started), f"{type(exc).__name__}: {exc}"[:1000])
    duration = _ms_since(started)
    if 200 <= response.status_code < 300:
        return Attempt(True, response.status_code, duration, "")
    return Attempt(False, response.status_code, duration, f"HTTP {response.status_code}: {response.text[:200]}")


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt."""
    base, cap = setting("WEBHOOK_RETRY_BASE_SECONDS"), setting("WEBHOOK_RETRY_MAX_SECONDS")
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def release_stale_claims(now: datetime | None = None) -> int:
    """Hand deliveries left `sending` by a killed worker back to pending; return how many."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=setting("WEBHOOK_CLAIM_LEASE_SECONDS"))
    return Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=stale).update(
        status=Delivery.Status.PENDING, claimed_at=None
    )


def claim_due(now: datetime, limit: int) -> list[int]:
    """Take up to `limit` due deliveries to active endpoints for this worker; return their ids.

    One transaction: the rows are locked (PostgreSQL skips rows another worker holds; SQLite runs
    write transactions one at a time) and moved from pending to sending, so no two workers take one.
    """
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__is_active=True)
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SENDING, claimed_at=now
        )
    return ids


def deliver_due(*, now: datetime | None = None, batch: int = 50) -> dict[str, int]:
    """Attempt every due delivery, `batch` claimed at a time; return counts delivered, failed, disabled."""
    counts = {"delivered": 0, "failed": 0, "disabled": 0, "skipped": 0, "released": release_stale_claims(now)}
    sessions: dict[int, requests.Session] = {}
    try:
        while ids := claim_due(now or timezone.now(), batch):
            endpoints: dict[int, Endpoint] = {}
            for delivery in Delivery.objects.select_related("event", "endpoint").filter(pk__in=ids).order_by("pk"):
                delivery.endpoint = endpoints.setdefault(delivery.endpoint_id, delivery.endpoint)  # one per batch
                counts[attempt_delivery(delivery, sessions, now=now)] += 1
    finally:
        for session in sessions.values():
            session.close()
    return counts


def attempt_delivery(
    delivery: Delivery | int, sessions: dict[int, requests.Session] | None = None, *, now: datetime | None = None
) -> str:
    """Send one claimed delivery and record the outcome: "delivered", "failed", "disabled" (this failure
    disabled the endpoint) or "skipped" (the endpoint was disabled before it was sent).

    `now` (default: the time after the attempt) dates the outcome and the next attempt.
    """
    if not isinstance(delivery, Delivery):
        delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery)
    delivery_id, endpoint = delivery.pk, delivery.endpoint
    if not endpoint.is_active:  # disabled since it was claimed
        Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.FAILED, claimed_at=None)
        return "skipped"
    session = None if sessions is None else sessions.setdefault(endpoint.pk, requests.Session())
    result = send(endpoint, delivery.event, session)
    now = now or timezone.now()
    attempts = delivery.attempts + 1
    common = {"attempts": attempts, "status_code": result.status_code, "duration_ms": result.duration_ms}
    if result.ok:
        Delivery.objects.filter(pk=delivery_id).update(
            **common, status=Delivery.Status.DELIVERED, delivered_at=now, error="", claimed_at=None
        )
        if endpoint.failing_since is not None:
            Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            endpoint.failing_since = None  # shared by the rest of the batch
        return "delivered"
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
        endpoint.failing_since = endpoint.failing_since or now
        failing_too_long = now - timedelta(seconds=setting("WEBHOOK_DISABLE_AFTER_SECONDS"))
        disabled = Endpoint.objects.filter(pk=endpoint.pk, is_active=True, failing_since__lte=failing_too_long).update(
            is_active=False, disabled_at=now
        )
        Delivery.objects.filter(pk=delivery_id).update(
            **common,
            status=Delivery.Status.PENDING,
            error=result.error,
            next_attempt_at=now + retry_delay(attempts),
            claimed_at=None,
        )
        if disabled or not Endpoint.objects.filter(pk=endpoint.pk, is_active=True).exists():
            # give up on everything queued for it; enabling it again re-queues them
            Delivery.objects.filter(endpoint_id=endpoint.pk, status=Delivery.Status.PENDING).update(
                status=Delivery.Status.FAILED
            )
        if disabled:
            endpoint.is_active = False  # the rest of the batch is skipped
            logger.warning("webhook endpoint %s disabled: failing for over a day (%s)", endpoint.url, result.error)
            return "disabled"
    return "failed"


def enable_endpoint(endpoint: Endpoint) -> int:
    """Re-enable an endpoint and queue its given-up deliveries again; return how many were re-queued."""
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(is_active=True, disabled_at=None, failing_since=None)
        count = Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.PENDING, next_attempt_at=timezone.now()
        )
        if count:
            transaction.on_commit(queue_delivery)
    return count
