"""/customer_ids reuses its JSON only while the process reuses the ids it was rendered from."""

from __future__ import annotations

import json

import pytest
from rest_framework.renderers import JSONRenderer

from tests.factories import CustomerFactory
from transactions.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def encodes(monkeypatch) -> list[int]:
    """Counts the JSON renderings of the customer list (every other payload is rendered as usual)."""
    calls: list[int] = []
    render = JSONRenderer.render

    def counted(self, data, *args, **kwargs):
        if isinstance(data, dict) and "customer_ids" in data:
            calls.append(len(data["customer_ids"]))
        return render(self, data, *args, **kwargs)

    monkeypatch.setattr(JSONRenderer, "render", counted)
    return calls


def ids_in_the_database() -> list[int]:
    return list(Customer.objects.order_by("customer_id").values_list("customer_id", flat=True))


def test_the_same_ids_are_rendered_once_and_a_new_customer_renders_them_again(trained_version, api, encodes) -> None:
    first, second = api.get("/customer_ids"), api.get("/customer_ids")
    assert first.content == second.content
    assert first.json() == {"total_customer_ids": len(ids_in_the_database()), "customer_ids": ids_in_the_database()}
    assert len(encodes) == 1

    CustomerFactory(customer_id=99_999)  # the Customer signal renews the stamp
    third = api.get("/customer_ids")
    assert third.json()["customer_ids"] == ids_in_the_database() and 99_999 in third.json()["customer_ids"]
    assert len(encodes) == 2

    Customer.objects.filter(customer_id=99_999).delete()
    assert 99_999 not in api.get("/customer_ids").json()["customer_ids"]


def test_other_media_type_parameters_and_errors_are_rendered_for_themselves(trained_version, api, anonymous) -> None:
    compact = api.get("/customer_ids").content
    indented = api.get("/customer_ids", HTTP_ACCEPT="application/json; indent=2").content
    assert indented != compact and json.loads(indented) == json.loads(compact)
    assert indented.startswith(b'{\n  "total_customer_ids"')
    assert api.get("/customer_ids").content == compact
    refused = anonymous.get("/customer_ids")
    assert refused.status_code == 401 and "customer_ids" not in refused.json()
    html = api.get("/customer_ids", HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
