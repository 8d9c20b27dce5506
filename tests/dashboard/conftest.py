"""Fixtures for the dashboard tests: a logged-in client and customers in each state."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db.models import Count, Q

from detection.models import ModelVersion, TransactionScore


@pytest.fixture(autouse=True)
def _empty_cache():
    """The overview reads are cached per model activation: start every test without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("analyst", password="analyst-pass-123", is_staff=True)
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
