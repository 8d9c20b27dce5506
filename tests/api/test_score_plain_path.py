"""POST /api/score's plain path (a few rows scored from the history state without DataFrames) gives the
same scores, flags, reasons, decisions and payload as the DataFrame path, row for row."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from api import payloads
from decisions import selectors as decision_selectors
from decisions import services as decision_services
from detection import realtime
from transactions.models import Transaction
from transactions.selectors import source_row

pytestmark = pytest.mark.django_db

ATOL = 1e-9


def dated(row: dict, when) -> dict:
    local = timezone.localtime(when)
    return {**row, "InvoiceDate": f"{local.month}/{local.day}/{local.year} {local.hour}:{local.minute:02d}"}


def posts(count: int, *, seed: int = 3) -> list[list[dict[str, Any]]]:
    """`count` posts of 1 to 4 lines dated after the loaded data: known and new customers, known and
    new items and countries, several lines of one invoice, extreme quantities and prices, postage and
    discount lines; plus posts the plain path declines (a cancellation, two invoices of one customer)."""
    rng = np.random.default_rng(seed)
    loaded = [
        source_row(txn)
        for txn in Transaction.objects.filter(quantity__gt=0, customer__isnull=False).order_by("id")[:400]
    ]
    last = Transaction.objects.order_by("-invoice_date").first().invoice_date
    out = []
    for number in range(count):
        base = loaded[int(rng.integers(len(loaded)))]
        when = last + timedelta(minutes=int(rng.integers(5, 60 * 24 * 20)))
        customer = 990_000 + number if rng.random() < 0.2 else base["CustomerID"]
        country = "Atlantis" if rng.random() < 0.1 else base["Country"]
        lines = []
        for line in range(int(rng.integers(1, 5))):
            other = loaded[int(rng.integers(len(loaded)))]
            stock, price = other["StockCode"], other["UnitPrice"]
            quantity = int(rng.choice([1, 2, 6, 12, 24, 5_000]))
            draw = rng.random()
            if draw < 0.1:
                stock = f"NEW{number}X{line}"
            elif draw < 0.15:
                stock, price = "POST", float(rng.choice([18.0, 1_500.0]))
            elif draw < 0.2:
                stock, quantity, price = "D", -1, float(rng.choice([20.0, 800.0]))
            elif draw < 0.25:
                price = round(price * float(rng.choice([0.05, 30.0])), 2)
            lines.append(
                dated(
                    {
                        **other,
                        "InvoiceNo": f"T{700000 + number}",
                        "StockCode": stock,
                        "Quantity": quantity,
                        "UnitPrice": price,
                        "CustomerID": customer,
                        "Country": country,
                    },
                    when,
                )
            )
        out.append(lines)
    for number, moment in enumerate(("3/25/2012 1:30", "10/28/2012 1:30")):  # an hour skipped, an hour twice
        out.append([{**loaded[3 + number], "InvoiceNo": f"T80001{number}", "InvoiceDate": moment}])
    out.append([dated({**loaded[0], "InvoiceNo": "C800001", "Quantity": -2}, last + timedelta(days=1))])
    out.append(
        [
            dated({**loaded[1], "InvoiceNo": "T800002"}, last + timedelta(days=1)),
            dated({**loaded[1], "InvoiceNo": "T800003", "StockCode": loaded[2]["StockCode"]}, last + timedelta(days=2)),
        ]
    )
    return out


def frame_path(records, version) -> realtime.ScoredRows:
    """The rows scored by the DataFrame path (the plain path turned off)."""
    plain = realtime.score_plain
    realtime.score_plain = lambda typed, bundle: None
    try:
        return realtime.score_rows(records, version=version)
    finally:
        realtime.score_plain = plain


def native(value: Any) -> Any:
    """numpy scalars as Python ones, inside lists and dicts too (a frame's records hold Python ones)."""
    if isinstance(value, dict):
        return {key: native(item) for key, item in value.items()}
    if isinstance(value, list):
        return [native(item) for item in value]
    return value.item() if isinstance(value, np.generic) else value


def assert_same(left: Any, right: Any, where: str) -> None:
    if isinstance(left, dict) and isinstance(right, dict):
        assert list(left) == list(right), where
        for key in left:
            assert_same(left[key], right[key], f"{where}.{key}")
    elif isinstance(left, list) and isinstance(right, list):
        assert len(left) == len(right), where
        for position, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{where}[{position}]")
    elif isinstance(left, float) and isinstance(right, float):
        assert (math.isnan(left) and math.isnan(right)) or abs(left - right) <= ATOL, (where, left, right)
    else:
        assert type(left) is type(right) and left == right, (where, left, right)


@pytest.fixture
def policy_with_rules(trained_version):
    """A published policy whose rules read text, numbers, a list and the invoice date."""
    user = User.objects.create_user("lead", password="lead-pass-123")
    draft = decision_services.create_draft(user=user)
    countries = decision_services.create_list(name="watched", kind="country", user=user)
    decision_services.add_list_entries(value_list=countries, values=["Atlantis"], user=user)
    rules = [
        ("big", "block", {"all": [{"field": "total_spent", "op": "gt", "value": 500}]}),
        ("watched", "review", {"any": [{"field": "country", "op": "in_list", "value": "watched"}]}),
        ("late", "review", {"all": [{"field": "invoice_date", "op": "gte", "value": "2011-01-01T00:00:00Z"}]}),
        ("trusted", "approve", {"all": [{"field": "customer_id", "op": "eq", "value": 990_003}]}),
    ]
    for name, action, condition in rules:
        decision_services.save_rule(
            policy=draft, data={"name": name, "action": action, "condition": condition}, user=user
        )
    decision_services.publish_policy(policy=draft, user=user, redecide=False)
    return trained_version


def test_plain_path_equals_the_frame_path(policy_with_rules) -> None:
    version = policy_with_rules
    plain_used = flagged = 0
    for number, records in enumerate(posts(120)):
        fast = realtime.score_rows(records, version=version)
        full = frame_path(records, version)
        assert isinstance(full.table, type(full.rows))
        plain_used += isinstance(fast.table, dict)
        flagged += fast.flagged
        assert list(fast.columns) == list(full.rows.columns)
        for position, (left, right) in enumerate(zip(fast.records(), full.records(), strict=True)):
            assert_same(native(left), native(right), f"post {number} row {position}")
        fast_decisions = decision_selectors.decide_rows(fast.columns)
        full_decisions = decision_selectors.decide_rows(full.rows)
        assert fast_decisions.decision.tolist() == full_decisions.decision.tolist()
        assert fast_decisions.reasons == full_decisions.reasons
        assert_same(
            payloads.score_payload(fast, store=False, decisions=fast_decisions),
            payloads.score_payload(full, store=False, decisions=full_decisions),
            f"post {number} payload",
        )
    assert plain_used >= 100  # the plain path answered most posts (not the cancellation, nor the two invoices)
    assert flagged > 0  # flags, explanations and reasons were compared too


def test_the_api_answers_from_the_plain_path(policy_with_rules, client) -> None:
    user = User.objects.create_user("reader", password="reader-pass-123", is_superuser=True)
    client.force_login(user)
    records = posts(1)[0]
    answer = client.post("/api/score", {"rows": records}, content_type="application/json")
    assert answer.status_code == 200
    expected = frame_path(records, policy_with_rules)
    decisions = decision_selectors.decide_rows(expected.rows)
    assert_same(answer.json(), payloads.score_payload(expected, store=False, decisions=decisions), "payload")
