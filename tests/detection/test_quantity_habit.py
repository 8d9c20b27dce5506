"""A line's quantity against its item's usual, less the customer's own usual level
(tail_detector.quantity_beyond_habit): small generated frames, no database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detection.fusion import HISTORY_MODEL_FEATURES, history_matrix
from detection.history import history_features
from detection.reasons import REASONS
from detection.tail_detector import TailDetector, right_tail, tail_columns, tail_inputs

from .factories import frame, line, weekly_invoices

WHOLESALER, REGULAR, NEWCOMER = 50, 1, 99


def _shop_with_a_wholesaler() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Twelve customers buying the item 6 at a time, one wholesaler buying it 120 at a time, then one
    line of 120 each from the wholesaler, a regular customer and a newcomer."""
    lines = []
    for customer in range(1, 13):
        lines += weekly_invoices(customer, 8, start=f"2011-01-0{3 + customer % 5} 10:00")
    for week in range(8):
        when = str(pd.Timestamp("2011-01-04 11:00") + pd.Timedelta(weeks=week))
        lines.append(line(invoice_no=f"B{week}", when=when, customer_id=WHOLESALER, quantity=120))
    for customer in (WHOLESALER, REGULAR, NEWCOMER):
        lines.append(line(invoice_no=f"L{customer}", when="2011-03-15 11:00", customer_id=customer, quantity=120))
    rows = frame(*lines)
    features = history_features(rows)
    last = {customer: features.index[(rows["invoice_no"] == f"L{customer}").to_numpy()][0] for customer in (50, 1, 99)}
    return features, features.loc[[last[WHOLESALER], last[REGULAR], last[NEWCOMER]]]


def test_a_wholesalers_usual_large_line_is_not_evidence_but_the_same_line_from_others_is() -> None:
    _, asked = _shop_with_a_wholesaler()
    columns = tail_columns(asked)
    item_ratio, beyond = columns["quantity_vs_item"], columns["quantity_beyond_habit"]
    assert (item_ratio > 2.0).all()  # 120 against the item's usual 6, for all three
    wholesaler, regular, newcomer = beyond
    assert wholesaler < 0.7 * item_ratio[0]  # most of it is the wholesaler's own usual level
    assert regular == pytest.approx(item_ratio[1])  # a customer who buys below items' usual: unchanged
    assert newcomer == pytest.approx(item_ratio[2])  # no habit known: the item ratio alone


def test_versions_saved_before_score_the_item_ratio_as_they_did() -> None:
    features, asked = _shop_with_a_wholesaler()
    inputs = tail_inputs(features)
    current = TailDetector.fit(inputs)
    renamed = {"quantity_beyond_habit": "quantity_vs_item"}
    legacy = TailDetector(  # as a version saved before names its evidence and joint members
        reference={
            renamed.get(name, name): np.sort(np.asarray(inputs["quantity_vs_item"]))
            if name == "quantity_beyond_habit"
            else values
            for name, values in current.reference.items()
        },
        joint={name: tuple(renamed.get(m, m) for m in members) for name, members in current.joint.items()},
    )
    assert "quantity_vs_item" in legacy.names and "quantity_beyond_habit" not in legacy.names
    surprise = dict(zip(legacy.names, legacy.surprise(tail_inputs(asked)).T, strict=True))
    expected = -np.log(right_tail(legacy.reference["quantity_vs_item"], asked["quantity_vs_item"].to_numpy()))
    np.testing.assert_allclose(surprise["quantity_vs_item"], expected)
    now = dict(zip(current.names, current.surprise(tail_inputs(asked)).T, strict=True))
    # The same 120 of the same item: one evidence for all three before; now less for the wholesaler.
    assert surprise["quantity_vs_item"][0] == surprise["quantity_vs_item"][2]
    assert now["quantity_beyond_habit"][0] < now["quantity_beyond_habit"][2]


def test_the_reason_names_the_customers_usual_level_when_it_is_high() -> None:
    _, asked = _shop_with_a_wholesaler()
    key, build = REASONS["quantity_beyond_habit"]
    assert key == "quantity_vs_item"
    wholesaler, newcomer = asked.iloc[0], asked.iloc[2]
    values, text = build(wholesaler)
    habit = float(np.exp(wholesaler["usual_quantity_vs_item"]))
    assert values["customer_usual_item_ratio"] == round(habit, 1)
    assert text.endswith(f"; this customer's lines usually run at {habit:.1f}x an item's usual")
    values, text = build(newcomer)
    assert "customer_usual_item_ratio" not in values
    assert text == "quantity 120 is 20x what this item usually sells per line (6)"


def test_the_model_input_takes_the_same_evidence_and_saved_versions_keep_theirs() -> None:
    _, asked = _shop_with_a_wholesaler()
    current = history_matrix(asked)
    column = HISTORY_MODEL_FEATURES.index("quantity_beyond_habit")
    np.testing.assert_allclose(current[:, column], asked["quantity_beyond_habit"].to_numpy(np.float32))
    saved = [("quantity_vs_item" if name == "quantity_beyond_habit" else name) for name in HISTORY_MODEL_FEATURES]
    before = history_matrix(asked, saved)  # a version fitted before lists quantity_vs_item
    np.testing.assert_allclose(before[:, column], asked["quantity_vs_item"].to_numpy(np.float32))
    assert before[0, column] > current[0, column]  # the wholesaler's line
    other = [index for index in range(len(saved)) if index != column]
    np.testing.assert_array_equal(before[:, other], current[:, other])
