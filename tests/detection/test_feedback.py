"""Feedback effects of verdicts (detection.feedback) and the supervised layer's arrays: pure, no database."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from detection.feedback import (
    DAY_SECONDS,
    DISMISS_DAYS,
    FEEDBACK_COLUMNS,
    FRAUD_DAYS,
    NEAR_SURPRISE,
    Feedback,
    apply_effects,
    apply_feedback,
    feedback_effects,
    feedback_reason,
)
from detection.supervised import (
    CLASSIFIER_PARAMETERS,
    MIN_LABELS_PER_CLASS,
    RAW_BLOCK_ROWS,
    TreeArrays,
    enough_labels,
    training_weights,
)

T0 = 1_291_334_400  # 3 Dec 2010 00:00 UTC


def verdicts(*rows: tuple[int, int, int, str]) -> Feedback:
    """(customer, seconds, label, evidence) per verdict."""
    frame = pd.DataFrame(
        [
            {
                "transaction_id": 1000 + n,
                "customer_id": customer,
                "seconds": at,
                "label": label,
                "review_id": 50 + n,
                "closed_seconds": at + DAY_SECONDS,
                "evidence": evidence,
                "strength": 5.0,
            }
            for n, (customer, at, label, evidence) in enumerate(rows)
        ]
    )
    return Feedback(frame[FEEDBACK_COLUMNS])


def effects_for(feedback: Feedback, rows: list[tuple[int, int, str]], strength: float = 5.0) -> np.ndarray:
    """(customer, seconds, evidence) per scored row -> effect per row."""
    frame = pd.DataFrame(rows, columns=["customer", "seconds", "evidence"])
    return feedback_effects(
        feedback,
        np.arange(1, len(frame) + 1),
        frame["customer"].to_numpy(),
        frame["seconds"].to_numpy(),
        frame["evidence"].to_numpy(object),
        np.full(len(frame), strength),
    )["effect"].to_numpy()


def test_a_dismissal_lowers_the_same_customers_same_evidence_until_it_expires() -> None:
    feedback = verdicts((7, T0, 0, "quantity_vs_item"))
    effects = effects_for(
        feedback,
        [
            (7, T0, "quantity_vs_item"),  # the dismissed line's own time
            (7, T0 + (DISMISS_DAYS - 1) * DAY_SECONDS, "quantity_vs_item"),
            (7, T0 + DISMISS_DAYS * DAY_SECONDS + 1, "quantity_vs_item"),  # expired
            (7, T0 - DAY_SECONDS, "quantity_vs_item"),  # earlier: not a later row
            (7, T0 + DAY_SECONDS, "price_vs_item"),  # other evidence
            (8, T0 + DAY_SECONDS, "quantity_vs_item"),  # other customer
        ],
    )
    assert effects.tolist() == [-1, -1, 0, 0, 0, 0]


def test_a_confirmed_fraud_raises_the_customers_other_recent_rows_until_it_expires() -> None:
    feedback = verdicts((7, T0, 1, "new_country"))
    frame = pd.DataFrame(
        {
            "customer": [7, 7, 7, 7, 8],
            "seconds": [
                T0 - (FRAUD_DAYS - 1) * DAY_SECONDS,
                T0 + FRAUD_DAYS * DAY_SECONDS,
                T0 + FRAUD_DAYS * DAY_SECONDS + 1,  # expired
                T0,  # the confirmed line itself (transaction 1000)
                T0,
            ],
        }
    )
    effects = feedback_effects(
        feedback,
        np.array([1, 2, 3, 1000, 4]),
        frame["customer"].to_numpy(),
        frame["seconds"].to_numpy(),
        np.array(["burst"] * 5, dtype=object),
        np.full(5, 3.0),
    )
    assert effects["effect"].tolist() == [1, 1, 0, 0, 0]
    assert effects["review_id"].tolist() == [50, 50, 0, 0, 0]


def test_a_far_more_extreme_row_is_not_near_the_dismissed_one() -> None:
    feedback = verdicts((7, T0, 0, "quantity_vs_item"))  # its evidence has surprise 5.0
    later = [(7, T0 + DAY_SECONDS, "quantity_vs_item")]
    assert effects_for(feedback, later, strength=5.0 + NEAR_SURPRISE).tolist() == [-1]
    assert effects_for(feedback, later, strength=5.0 + NEAR_SURPRISE + 0.01).tolist() == [0]


def test_a_fraud_wins_over_a_dismissal_on_the_same_row() -> None:
    feedback = verdicts((7, T0, 0, "burst"), (7, T0 + DAY_SECONDS, 1, "price_vs_item"))
    assert effects_for(feedback, [(7, T0 + 2 * DAY_SECONDS, "burst")]).tolist() == [1]


def test_a_dismissed_row_stays_lowered_next_to_a_confirmed_fraud() -> None:
    feedback = verdicts((7, T0, 0, "burst"), (7, T0 + DAY_SECONDS, 1, "price_vs_item"))
    effects = feedback_effects(
        feedback, np.array([1000]), np.array([7]), np.array([T0]), np.array(["burst"], dtype=object), np.array([5.0])
    )
    assert effects["effect"].tolist() == [-1] and effects["review_id"].tolist() == [50]


def test_effects_move_rows_across_the_flag_threshold_and_no_further() -> None:
    surprise = np.array([9.0, 3.0, 1.0, 9.0, 2.0])
    moved = apply_effects(surprise, np.array([-1, -1, 0, 0, 1]), threshold=4.0)
    assert moved[0] == pytest.approx(2.0)  # capped at the threshold, then halved
    assert moved[1] == pytest.approx(1.5)
    assert moved[2] == 1.0 and moved[3] == 9.0
    assert 4.0 < moved[4] < 4.0 + 1e-9


def test_a_confirmed_fraud_raises_only_lines_above_the_floor() -> None:
    feedback = replace(verdicts((7, T0, 1, "burst")), raise_floor=2.5)
    scored = pd.DataFrame({"fused_surprise": [3.0, 1.0, 9.0], "surprise_burst_surprise": [3.0, 1.0, 9.0]})
    frame = pd.DataFrame(
        {
            "transaction_id": [1, 2, 3],
            "customer_id": [7, 7, 7],
            "invoice_date": pd.to_datetime([T0 + 60, T0 + 120, T0 + 180], unit="s", utc=True),
        }
    )
    moved, effects = apply_feedback(scored, frame, feedback, threshold=4.0, sale=np.ones(3, bool))
    assert effects["effect"].tolist() == [1, 0, 1]  # the third says why, its score above the threshold kept
    assert moved["is_flagged"].tolist() == [True, False, True]
    assert moved["fused_surprise"].iloc[1:].tolist() == [1.0, 9.0]


def test_the_reason_names_the_day_of_the_dismissal() -> None:
    item = feedback_reason(-1, T0, T0 + DAY_SECONDS, 51, "burst")
    assert item["key"] == "similar_to_dismissed"
    assert "dismissed on 4 Dec 2010" in item["text"] and "burst" in item["text"]
    assert item["values"]["review_id"] == 51


def test_exported_trees_score_as_the_classifier() -> None:
    rng = np.random.default_rng(3)
    inputs = rng.normal(size=(2_000, 6))
    inputs[::11, 2] = np.nan
    classes = ((inputs[:, 0] > 0.5) | (np.nan_to_num(inputs[:, 2]) < -1.2)).astype(int)
    classifier = HistGradientBoostingClassifier(**CLASSIFIER_PARAMETERS, random_state=0).fit(inputs, classes)
    trees = TreeArrays.from_classifier(classifier)
    loaded = TreeArrays.from_arrays(trees.to_arrays())
    np.testing.assert_allclose(loaded.raw(inputs), classifier.decision_function(inputs), rtol=0, atol=1e-9)
    more = rng.normal(size=(RAW_BLOCK_ROWS * 2 + 31, 6))
    more[::7, 0] = np.nan
    np.testing.assert_allclose(loaded.raw(more), classifier.decision_function(more), rtol=0, atol=1e-9)


def test_blending_needs_enough_labels_of_each_class() -> None:
    enough = np.r_[np.ones(MIN_LABELS_PER_CLASS), np.zeros(MIN_LABELS_PER_CLASS)]
    assert enough_labels(enough)
    assert not enough_labels(enough[1:])  # one confirmed fraud short
    assert not enough_labels(np.ones(500))


def test_confirmed_fraud_weighs_half_and_each_negative_group_a_quarter() -> None:
    classes, weights = training_weights(np.r_[np.ones(10, int), np.zeros(30, int)], background=200)
    total = weights.sum()
    assert weights[:10].sum() / total == pytest.approx(0.5)
    assert weights[10:40].sum() / total == pytest.approx(0.25)
    assert weights[40:].sum() / total == pytest.approx(0.25)
    assert classes.tolist() == [1] * 10 + [0] * 230
