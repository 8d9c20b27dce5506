"""API fixtures: logged-in clients, and typical rows of the generated data in the source file's columns."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db.models import Count
from rest_framework.test import APIClient

from detection.models import TransactionScore
from tests.conftest import ANALYST_GROUP, clear_cache, logged_in
from transactions.selectors import source_row as source_columns

# A transaction's columns and the seed's four features, in the order the seed's payloads give them.
SEED_ROW_KEYS = [
    "CustomerID",
    "InvoiceNo",
    "InvoiceDate",
    "StockCode",
    "Description",
    "Quantity",
    "UnitPrice",
    "Country",
    "TotalSpent",
    "HistFreq",
    "UnusualDestination",
    "QuantitySpike",
]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts(request):
    """Throttle counters live in the cache: start every test from zero."""
    clear_cache(request)
    yield


@pytest.fixture
def analyst(django_user_model):
    """A user of the Analyst group (view permissions on data, scores and model versions)."""
    user = django_user_model.objects.create_user("analyst", password="analyst-pass-123")
    user.groups.add(Group.objects.get(name=ANALYST_GROUP))
    return user


@pytest.fixture
def plain_user(django_user_model):
    """A logged-in user with no staff flag, group or permission."""
    return django_user_model.objects.create_user("plain", password="plain-pass-123")


@pytest.fixture
def api(analyst) -> APIClient:
    """A client logged in (session) as an analyst: it may read, not store or start jobs."""
    return logged_in(analyst, APIClient)


@pytest.fixture
def plain_api(plain_user) -> APIClient:
    """A client logged in (session) as a user without any permission."""
    return logged_in(plain_user, APIClient)


@pytest.fixture
def loader_api(django_user_model) -> APIClient:
    """A client logged in as an analyst also allowed to add transactions (store=true)."""
    user = django_user_model.objects.create_user("loader", password="loader-pass-123")
    user.groups.add(Group.objects.get(name=ANALYST_GROUP))
    permission = Permission.objects.get(codename="add_transaction", content_type__app_label="transactions")
    user.user_permissions.add(permission)
    return logged_in(user, APIClient)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def source_row(score: TransactionScore, **changes: Any) -> dict[str, Any]:
    """The scored transaction as a client would post it (the file's columns), with `changes` applied."""
    row = source_columns(score.transaction)
    return {**row, "InvoiceNo": "T" + row["InvoiceNo"], **changes}


@pytest.fixture
def typical_score(trained_version) -> TransactionScore:
    """An unflagged sale of a regular customer, scored near the median (well inside both models' limits)."""
    regulars = [
        row["customer_id"]
        for row in TransactionScore.objects.values("customer_id").annotate(lines=Count("id")).filter(lines__gte=30)
    ]
    candidates = TransactionScore.objects.filter(
        model_version=trained_version,
        customer_id__in=regulars,
        is_flagged=False,
        transaction__quantity__gt=0,
        unusual_destination=False,
        quantity_spike=False,
        anomaly_score__lt=0.6,
    ).select_related("transaction")
    return candidates.order_by("-anomaly_score", "id").first()
