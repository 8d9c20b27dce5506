"""Registering endpoints: bad URLs (SSRF), short secrets and unknown event types are refused, by role."""

from __future__ import annotations

import socket

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from webhooks.models import Endpoint

from .conftest import SECRET

pytestmark = pytest.mark.django_db
URL = "/api/webhooks/endpoints"


def resolving_to(monkeypatch, address: str) -> None:
    """Make every host name resolve to `address` (no network in tests)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    monkeypatch.setattr(
        socket, "getaddrinfo", lambda host, port, *a, **k: [(family, socket.SOCK_STREAM, 6, "", (address, port))]
    )


def body(**overrides) -> dict:
    return {"url": "https://hooks.example.com/in", "event_types": ["alert.created"], "secret": SECRET, **overrides}


@pytest.fixture
def webhook_staff(db) -> Client:
    user = User.objects.create_user("ops", password="x", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="webhooks", codename__endswith="_endpoint")
    )
    client = Client()
    client.force_login(user)
    return client


def test_staff_with_the_permission_registers_a_public_endpoint(webhook_staff, monkeypatch):
    resolving_to(monkeypatch, "93.184.216.34")

    response = webhook_staff.post(
        URL, body(event_types=["case.closed", "decision.block"]), content_type="application/json"
    )

    assert response.status_code == 201
    created = response.json()
    assert created["event_types"] == ["case.closed", "decision.block"] and "secret" not in created
    assert created["created_by"] == "ops"
    assert "secret" not in webhook_staff.get(URL).json()[0]
    assert webhook_staff.delete(f"{URL}/{created['id']}").status_code == 204
    assert Endpoint.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "overrides", "message"),
    [
        ("url", {"url": "ftp://hooks.example.com/in"}, "http:// or https://"),
        ("url", {"url": "file:///etc/passwd"}, "http:// or https://"),
        ("url", {"url": "https://"}, "no host"),
        ("secret", {"secret": "x" * 31}, "at least 32 bytes"),
        ("event_types", {"event_types": ["alert.created", "payment.made"]}, "unknown event type 'payment.made'"),
        ("event_types", {"event_types": []}, "at least one"),
    ],
)
def test_bad_input_is_refused_naming_the_field(webhook_staff, monkeypatch, field, overrides, message):
    resolving_to(monkeypatch, "93.184.216.34")

    response = webhook_staff.post(URL, body(**overrides), content_type="application/json")

    assert response.status_code == 400
    assert message in response.json()["errors"][field][0]
    assert Endpoint.objects.count() == 0


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1", "::ffff:10.0.0.1"]
)
def test_a_url_resolving_to_an_internal_address_is_refused_in_production(webhook_staff, monkeypatch, settings, address):
    settings.DEBUG = False
    resolving_to(monkeypatch, address)

    response = webhook_staff.post(URL, body(url="https://innocent.example.com/hook"), content_type="application/json")

    assert response.status_code == 400
    assert "private, loopback or link-local" in response.json()["errors"]["url"][0]


def test_a_loopback_url_is_allowed_when_debug_is_on(webhook_staff, settings):
    settings.DEBUG = True

    response = webhook_staff.post(URL, body(url="http://127.0.0.1:9/hook"), content_type="application/json")

    assert response.status_code == 201


def test_delivery_refuses_a_host_that_resolves_internally_later(db, monkeypatch, settings):
    from webhooks.services import deliver_due, emit

    resolving_to(monkeypatch, "93.184.216.34")
    Endpoint.objects.create(url="https://rebinding.example.com/", event_types=["alert.created"], secret=SECRET)
    emit("alert.created", {"n": 1})
    settings.DEBUG = False
    resolving_to(monkeypatch, "10.0.0.7")  # DNS now points inside

    assert deliver_due()["failed"] == 1
    assert "refused" in Endpoint.objects.get().deliveries.get().error


def test_roles(client, analyst_client, admin_client, monkeypatch):
    resolving_to(monkeypatch, "93.184.216.34")
    assert client.get(URL).status_code == 401
    assert analyst_client.get(URL).status_code == 403
    assert analyst_client.post(URL, body(), content_type="application/json").status_code == 403
    assert admin_client.post(URL, body(), content_type="application/json").status_code == 201
    assert admin_client.get(URL).status_code == 200


def test_the_admin_form_refuses_the_same_bad_input(admin_client, monkeypatch, settings):
    settings.DEBUG = False
    resolving_to(monkeypatch, "127.0.0.1")
    form = {"url": "https://local.example.com/", "event_types": ["alert.created"], "secret": "short", "is_active": "on"}

    response = admin_client.post("/admin/webhooks/endpoint/add/", form)

    assert response.status_code == 200  # the form again, with its errors
    errors = response.context["adminform"].form.errors
    assert "private, loopback or link-local" in errors["url"][0] and "32 bytes" in errors["secret"][0]
    assert Endpoint.objects.count() == 0

    resolving_to(monkeypatch, "93.184.216.34")
    response = admin_client.post("/admin/webhooks/endpoint/add/", {**form, "secret": SECRET})
    assert response.status_code == 302 and Endpoint.objects.get().created_by.username == "admin"
