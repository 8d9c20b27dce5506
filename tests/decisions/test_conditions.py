"""One condition, two compilations: the Q (backtests) and the numpy mask (batch, /api/score) match the same rows."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from decisions import conditions, selectors
from decisions.conditions import InvalidCondition, compile_condition, validate_condition
from decisions.models import ListEntry, ValueList
from detection.selectors import scores_for

ALL_KEYS = list(conditions.FIELD_KINDS)

CONDITIONS = {
    "big spend and high score": {
        "all": [
            {"field": "anomaly_score", "op": "gte", "value": 0.9},
            {"field": "total_spent", "op": "gt", "value": 300},
        ]
    },
    "nested any in all": {
        "all": [
            {"field": "is_flagged", "op": "eq", "value": True},
            {
                "any": [
                    {"field": "country", "op": "in", "value": ["France", "EIRE"]},
                    {"field": "unusual_destination", "op": "eq", "value": 1},
                    {
                        "all": [
                            {"field": "quantity", "op": "lt", "value": 0},
                            {"field": "hist_freq", "op": "lte", "value": 20},
                        ]
                    },
                ]
            },
        ]
    },
    "country in list": {"any": [{"field": "country", "op": "in_list", "value": "risky countries"}]},
    "customer not in list, night": {
        "all": [
            {"field": "customer_id", "op": "not_in_list", "value": "watched customers"},
            {"field": "transaction_hour", "op": "gte", "value": 20},
        ]
    },
    "stock code list or invoice list": {
        "any": [
            {"field": "stock_code", "op": "in_list", "value": "odd stock"},
            {"field": "invoice_no", "op": "in_list", "value": "voided invoices"},
        ]
    },
    "description contains (any case)": {"any": [{"field": "description", "op": "contains", "value": "heart"}]},
    "not in / ne / float ranges": {
        "all": [
            {"field": "country", "op": "not_in", "value": ["United Kingdom"]},
            {"field": "quantity_spike", "op": "ne", "value": True},
            {"field": "unit_price", "op": "lt", "value": 30.5},
            {"field": "zscore", "op": "gt", "value": -0.5},
        ]
    },
    "dates and customer ids": {
        "any": [
            {"field": "invoice_date", "op": "lt", "value": "2011-03-10T00:00:00+00:00"},
            {"field": "customer_id", "op": "in", "value": [20001, 20002, 20003]},
        ]
    },
    "line kind, flagged": {
        "any": [
            {"field": "kind", "op": "eq", "value": "cancellation"},
            {
                "all": [
                    {"field": "kind", "op": "in", "value": ["sale"]},
                    {"field": "is_flagged", "op": "eq", "value": True},
                ]
            },
        ]
    },
    "empty list matches nothing": {"any": [{"field": "country", "op": "in_list", "value": "empty list"}]},
}


@pytest.fixture
def lists(db):
    risky = ValueList.objects.create(name="risky countries", kind="country")
    ListEntry.objects.create(list=risky, value="Nigeria")
    ListEntry.objects.create(list=risky, value="Brazil")
    ListEntry.objects.create(list=risky, value="France", expires_at=timezone.now() - timedelta(days=1))
    watched = ValueList.objects.create(name="watched customers", kind="customer_id")
    for customer_id in (20000, 20005, 20010, 20015, 20020):
        ListEntry.objects.create(list=watched, value=str(customer_id))
    odd = ValueList.objects.create(name="odd stock", kind="stock_code")
    ListEntry.objects.create(list=odd, value="85003B")
    ListEntry.objects.create(list=odd, value="85007")
    voided = ValueList.objects.create(name="voided invoices", kind="invoice_no")
    ListEntry.objects.create(list=voided, value="560004")
    ValueList.objects.create(name="empty list", kind="country")


def _both(condition, version) -> tuple[set[int], set[int], int]:
    valid = validate_condition(condition, lists=selectors.list_kinds())
    compiled = compile_condition(valid, lists=selectors.active_list_values(conditions.referenced_lists(valid)))
    by_q = set(scores_for(version).filter(compiled.q).values_list("id", flat=True))
    frame = pd.concat(list(selectors.score_frames(scores_for(version), ALL_KEYS, chunk_size=50)))
    by_mask = set(frame["id"][compiled.mask(frame)])
    return by_q, by_mask, len(frame)


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_q_and_mask_select_the_same_rows(name, version, scores, lists):
    by_q, by_mask, total = _both(CONDITIONS[name], version)
    assert by_q == by_mask
    if name == "empty list matches nothing":
        assert by_q == set()
    else:
        assert 0 < len(by_q) < total, "the condition should split the rows to prove anything"


def test_expired_entries_do_not_count(version, scores, lists):
    by_q, _, _ = _both(CONDITIONS["country in list"], version)
    countries = set(scores_for(version).filter(id__in=by_q).values_list("country", flat=True))
    assert countries == {"Nigeria", "Brazil"}


def test_mask_works_on_a_frame_of_a_few_rows_without_a_database():
    frame = pd.DataFrame(
        {"customer_id": [1, 2, 3], "country": ["France", "Nigeria", "EIRE"], "anomaly_score": [0.1, 0.99, 0.5]}
    )
    condition = {
        "any": [
            {"field": "customer_id", "op": "in_list", "value": "vip"},
            {
                "all": [
                    {"field": "anomaly_score", "op": "gt", "value": 0.9},
                    {"field": "country", "op": "eq", "value": "Nigeria"},
                ]
            },
        ]
    }
    valid = validate_condition(condition, lists={"vip": "customer_id"})
    compiled = compile_condition(valid, lists={"vip": frozenset({3})})
    assert compiled.mask(frame).tolist() == [False, True, True]


BAD = {
    "unknown field": ({"all": [{"field": "colour", "op": "eq", "value": 1}]}, "condition.all[0].field"),
    "unknown operator": ({"all": [{"field": "total_spent", "op": "between", "value": 1}]}, "condition.all[0].op"),
    "operator not for the type": ({"all": [{"field": "country", "op": "gt", "value": "F"}]}, "condition.all[0].op"),
    "wrong value type": ({"all": [{"field": "total_spent", "op": "gt", "value": "1000"}]}, "condition.all[0].value"),
    "bool for a number": ({"all": [{"field": "hist_freq", "op": "eq", "value": True}]}, "condition.all[0].value"),
    "empty all": ({"all": []}, "condition.all"),
    "empty in list": ({"any": [{"field": "country", "op": "in", "value": []}]}, "condition.any[0].value"),
    "unknown list": ({"any": [{"field": "country", "op": "in_list", "value": "nope"}]}, "condition.any[0].value"),
    "list of another kind": (
        {"any": [{"field": "country", "op": "in_list", "value": "vip"}]},
        "condition.any[0].value",
    ),
    "bare leaf": ({"field": "country", "op": "eq", "value": "France"}, "condition"),
    "two combinators": ({"all": [], "any": []}, "condition"),
    "missing value": ({"all": [{"field": "country", "op": "eq"}]}, "condition.all[0].value"),
    "bad date": ({"all": [{"field": "invoice_date", "op": "gt", "value": "yesterday"}]}, "condition.all[0].value"),
    "text instead of an object": ("anomaly_score > 0.9", "condition"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_conditions_are_refused_naming_the_part(name):
    condition, path = BAD[name]
    with pytest.raises(InvalidCondition) as caught:
        validate_condition(condition, lists={"vip": "customer_id"})
    assert path in caught.value.errors, caught.value.errors


def test_nested_errors_are_all_reported():
    condition = {
        "all": [{"field": "x", "op": "eq", "value": 1}, {"any": [{"field": "country", "op": "eq", "value": 3}]}]
    }
    with pytest.raises(InvalidCondition) as caught:
        validate_condition(condition, lists={})
    assert set(caught.value.errors) == {"condition.all[0].field", "condition.all[1].any[0].value"}
