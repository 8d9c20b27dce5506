"""Users in each role, and API clients logged in as them (session, as the admin login gives)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from rest_framework.test import APIClient

from detection.training_jobs import TRAIN_PERMISSIONS
from tests.api.conftest import source_row, typical_score  # noqa: F401  (typical_score is a fixture)
from tests.conftest import ANALYST_GROUP, clear_cache, logged_in
from transactions.uploads import UPLOAD_PERMISSIONS

JOB_PERMISSIONS = {*TRAIN_PERMISSIONS, *UPLOAD_PERMISSIONS, "jobs.view_backgroundjob"}
PASSWORD = "role-pass-123456"


@pytest.fixture(autouse=True)
def _fresh_counters(request):
    """Throttle counters live in the cache: start every test from zero."""
    clear_cache(request)
    yield


def grant(user: User, *perms: str) -> None:
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def make_user(role: str) -> User | None:
    """A user in `role`: None for anonymous; the password is PASSWORD."""
    if role == "anonymous":
        return None
    if role == "superuser":
        return User.objects.create_superuser(role, f"{role}@example.com", PASSWORD)
    user = User.objects.create_user(role, f"{role}@example.com", PASSWORD, is_staff=role != "plain")
    if role in ("analyst", "operator"):
        user.groups.add(Group.objects.get(name=ANALYST_GROUP))
    if role == "operator":
        grant(user, *JOB_PERMISSIONS)
    return user


def client_for(user: User | None) -> APIClient:
    return logged_in(user, APIClient)


@pytest.fixture
def analyst(db) -> User:
    """Staff and in the Analyst group, as the README tells to set analysts up."""
    return make_user("analyst")


@pytest.fixture
def analyst_api(analyst) -> APIClient:
    return client_for(analyst)


@pytest.fixture
def operator_api(db) -> APIClient:
    """An analyst who may also start ingest and training jobs and read them."""
    return client_for(make_user("operator"))


@pytest.fixture
def reader(django_user_model):
    """A user who may read scores, customers and model versions (as the Analyst group) but is not staff."""
    user = django_user_model.objects.create_user("reader", password="reader-pass-123")
    grant(user, "detection.view_transactionscore", "transactions.view_customer", "detection.view_modelversion")
    return user


@pytest.fixture
def reader_client(reader) -> Client:
    """A client logged in as `reader`: bad input reaches the checks behind the read permission."""
    return logged_in(reader)


@pytest.fixture
def superuser_client(django_user_model) -> Client:
    """A client logged in as a superuser (the admin pages)."""
    return logged_in(django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass-123"))
