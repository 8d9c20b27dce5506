"""Fixtures for the dashboard tests: a logged-in client and customers in each state; finding a component in a layout."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db.models import Count, Q

from detection.models import ModelVersion, TransactionScore
from tests.conftest import clear_cache


@pytest.fixture(autouse=True)
def _empty_cache(request):
    """Start every test with an empty cache (a Redis or local-memory CACHE_URL keeps entries across tests)."""
    clear_cache(request)
    yield


def component_props(tree, component_id: str) -> dict | None:
    """The props of the component with `component_id` in a Dash layout as JSON, or None."""
    if isinstance(tree, dict):
        if tree.get("id") == component_id:
            return tree
        children = tree.values()
    elif isinstance(tree, list):
        children = tree
    else:
        return None
    return next((found for child in children if (found := component_props(child, component_id))), None)


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("analyst", password="analyst-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Analyst"))
    client.force_login(user)
    return client


@pytest.fixture
def busiest_customer(trained_version: ModelVersion) -> int:
    """The customer with the most flagged rows (at least 2)."""
    top = (
        TransactionScore.objects.filter(model_version=trained_version, is_flagged=True)
        .values("customer_id")
        .annotate(flagged=Count("id"))
        .order_by("-flagged", "customer_id")
        .first()
    )
    assert top is not None and top["flagged"] >= 2
    return top["customer_id"]


@pytest.fixture
def quiet_customer(trained_version: ModelVersion) -> int:
    """A customer with scored rows none of which was flagged."""
    quiet = (
        TransactionScore.objects.filter(model_version=trained_version)
        .values("customer_id")
        .annotate(flagged=Count("id", filter=Q(is_flagged=True)))
        .filter(flagged=0)
        .order_by("customer_id")
        .first()
    )
    assert quiet is not None
    return quiet["customer_id"]
