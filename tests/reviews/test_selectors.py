"""Analysts' labels feed back: precision of each model against closed reviews."""

from __future__ import annotations

import math
from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command

from detection.evaluation import precision_against_reviews
from detection.models import TransactionScore
from reviews.models import Review
from reviews.selectors import reviewed_flags
from reviews.services import apply_review_change


def test_precision_and_recall_per_model_from_labels() -> None:
    reviewed = pd.DataFrame(
        {
            "confirmed": [True, True, False, False, True],
            "iso_forest_flag": [True, False, True, False, False],
            "autoencoder_flag": [True, True, False, False, False],
            "is_flagged": [True, True, True, False, False],
            "is_common_anomaly": [True, False, False, False, False],
        }
    )
    table = precision_against_reviews(reviewed)

    assert table.loc["iso_forest", ["flagged", "confirmed", "precision"]].tolist() == [2, 1, 0.5]
    assert table.loc["autoencoder", "precision"] == 1.0
    assert table.loc["combined", "precision"] == pytest.approx(2 / 3)
    assert table.loc["both", "recall"] == pytest.approx(1 / 3)
    assert table.loc["combined", "recall"] == pytest.approx(2 / 3)


def test_a_model_that_flagged_no_reviewed_row_has_no_precision() -> None:
    reviewed = pd.DataFrame(
        {
            "confirmed": [False],
            "iso_forest_flag": [False],
            "autoencoder_flag": [True],
            "is_flagged": [True],
            "is_common_anomaly": [False],
        }
    )
    table = precision_against_reviews(reviewed)
    assert math.isnan(table.loc["iso_forest", "precision"]) and math.isnan(table.loc["iso_forest", "recall"])
    assert table.loc["autoencoder", "precision"] == 0.0


@pytest.mark.django_db
def test_evaluate_models_reports_precision_against_closed_reviews(trained_version, flagged_ids, analyst) -> None:
    confirmed, dismissed, open_ = flagged_ids[:6], flagged_ids[6:10], flagged_ids[10:12]
    apply_review_change(confirmed, actor=analyst, status=Review.Status.CONFIRMED_FRAUD)
    apply_review_change(dismissed, actor=analyst, status=Review.Status.FALSE_POSITIVE)
    apply_review_change(open_, actor=analyst, status=Review.Status.INVESTIGATING)

    rows = reviewed_flags(trained_version)
    assert sorted(row["transaction_id"] for row in rows) == sorted(confirmed + dismissed)
    iso_flagged = set(
        TransactionScore.objects.filter(transaction_id__in=confirmed + dismissed, iso_forest_flag=True).values_list(
            "transaction_id", flat=True
        )
    )
    expected_iso = len(iso_flagged & set(confirmed)) / len(iso_flagged)

    out = StringIO()
    call_command("evaluate_reviews", stdout=out)
    text = out.getvalue()

    assert "against 10 reviewed rows (6 confirmed fraud, 4 false positive)" in text
    combined = next(line for line in text.splitlines() if line.startswith("combined"))
    assert combined.split()[1:4] == ["10", "6", "0.600"]
    iso = next(line for line in text.splitlines() if line.startswith("iso_forest"))
    assert iso.split()[3] == f"{expected_iso:.3f}"


@pytest.mark.django_db
def test_evaluate_models_says_when_nothing_is_reviewed(trained_version) -> None:
    out = StringIO()
    call_command("evaluate_reviews", stdout=out)
    assert "No closed reviews yet" in out.getvalue()
