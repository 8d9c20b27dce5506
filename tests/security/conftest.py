"""Fixtures of the security tests: clients of each role."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached overview reads live in the cache: start every test from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def plain_user(django_user_model):
    return django_user_model.objects.create_user("plain", password="plain-pass-123")


@pytest.fixture
def user_client(plain_user) -> Client:
    """A client logged in as a user without staff status or permissions."""
    client = Client()
    client.force_login(plain_user)
    return client


@pytest.fixture
def superuser_client(django_user_model) -> Client:
    """A client logged in as a superuser (the admin pages)."""
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass-123")
    client = Client()
    client.force_login(user)
    return client
