"""The score-field registry: every list derives from it, and the system check catches drift from the models."""

from __future__ import annotations

import pandas as pd
import pytest

from detection import checks, fields
from detection.models import TransactionScore


def test_the_registry_and_the_models_agree() -> None:
    assert checks.registry_matches_models() == []


def test_an_entry_naming_no_model_field_fails_the_check(monkeypatch) -> None:
    bogus = fields.ScoreField("velocity", "Velocity", "velocity", frozenset({fields.LISTED}))
    monkeypatch.setattr(fields, "FIELDS", (*fields.FIELDS, bogus))
    monkeypatch.setitem(fields.BY_KEY, "velocity", bogus)
    fields.model_field.cache_clear()

    errors = checks.registry_matches_models()

    fields.model_field.cache_clear()
    assert [error.id for error in errors] == ["detection.E001"] and "velocity" in errors[0].msg


def test_a_score_column_without_an_entry_fails_the_check(monkeypatch) -> None:
    monkeypatch.setattr(fields, "SCORE_COLUMNS", [key for key in fields.SCORE_COLUMNS if key != "zscore"])

    errors = checks.registry_matches_models()

    assert [error.id for error in errors] == ["detection.E002"] and "zscore" in errors[0].msg


def test_stored_columns_are_the_score_table_in_model_order() -> None:
    columns = [f.attname for f in TransactionScore._meta.concrete_fields if f.name not in {"id", "model_version"}]
    assert columns == [*fields.SCORE_COLUMNS, *fields.COPIED_KEYS]


@pytest.mark.parametrize(
    ("key", "kind"),
    [("quantity", "int"), ("unit_price", "float"), ("unusual_destination", "int"), ("iso_forest_flag", "bool")],
)
def test_value_kinds_come_from_the_model_fields(key: str, kind: str) -> None:
    assert fields.value_kind(key) == kind


def test_the_seed_metrics_keep_their_names() -> None:
    assert fields.METRICS == {
        "TotalSpent": "total_spent",
        "HistFreq": "hist_freq",
        "UnusualDestination": "unusual_destination",
        "QuantitySpike": "quantity_spike",
    }


def test_explanations_turn_into_json_and_words() -> None:
    items = [
        {"feature": "TotalSpent", "value": 1234.5, "share": 0.62},
        {"feature": "Quantity", "value": 12, "share": 0.2},
    ]

    assert fields.explanation_json(items) == '[{"feature":"TotalSpent","value":1234.5,"share":0.62},' + (
        '{"feature":"Quantity","value":12,"share":0.2}]'
    )
    assert fields.explanation_json(None) == "[]"
    assert fields.explanation_text(items) == "TotalSpent=1,234.5 (62%), Quantity=12 (20%)"
    assert fields.explanation_text(None) == ""


def test_a_column_of_explanations_turns_into_json_like_each_value() -> None:
    items = [{"feature": "TotalSpent", "value": 1234.5, "share": 0.62}]
    values = pd.Series([items, [], None, "", '[{"key": "kind"}]', float("nan"), items], index=[5, 3, 9, 1, 0, 2, 7])

    column = fields.explanation_json_column(values)

    assert column.index.tolist() == values.index.tolist()
    assert column.tolist() == [fields.explanation_json(value) for value in values]
    assert column.iloc[0] != "[]" and column.iloc[4] == '[{"key":"kind"}]'
