"""Label metrics of a version: precision of its top k, false-positive rate among reviewed alerts, hours
from alert to verdict; expected values are worked out here from the fixture rows."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring.selectors import label_metrics, recent_label_metrics
from reviews.models import Review

from .conftest import ROWS, build_version

pytestmark = pytest.mark.django_db

VERDICTS = ("confirmed_fraud", "false_positive")


def expected_precision(k: int) -> tuple[int, int, float | None]:
    top = sorted(ROWS, key=lambda row: -row.score)[:k]
    reviewed = [row for row in top if row.status in VERDICTS]
    confirmed = sum(row.status == "confirmed_fraud" for row in reviewed)
    return len(reviewed), confirmed, (confirmed / len(reviewed) if reviewed else None)


@pytest.mark.parametrize("ks", [(1, 3, 5), (8, 12, 100)])
def test_precision_at_k_counts_only_rows_with_a_verdict(labelled, ks) -> None:
    version, _ = labelled
    measured = label_metrics(version, ks=ks).precision_at
    assert [item.k for item in measured] == list(ks)
    for item in measured:
        assert (item.reviewed, item.confirmed, item.precision) == pytest.approx(expected_precision(item.k))


def test_false_positive_rate_among_reviewed_alerts(labelled) -> None:
    version, _ = labelled
    alerts = [row for row in ROWS if row.flagged and row.status in VERDICTS]
    false_positives = sum(row.status == "false_positive" for row in alerts)

    labels = label_metrics(version)

    assert (labels.reviewed_alerts, labels.false_positives) == (len(alerts), false_positives)
    assert labels.confirmed == len(alerts) - false_positives
    assert labels.false_positive_rate == pytest.approx(false_positives / len(alerts))


def test_hours_from_alert_to_verdict_start_at_the_later_of_arrival_and_activation(labelled) -> None:
    version, _ = labelled
    alerts = [row for row in ROWS if row.flagged and row.status in VERDICTS]
    hours = [row.closed_hours - max(row.arrived_hours or 0.0, 0.0) for row in alerts]
    timed = [h for h in hours if h >= 0]

    labels = label_metrics(version)

    assert labels.timed_verdicts == len(timed) and labels.verdicts_before_alert == len(hours) - len(timed)
    assert labels.verdict_hours_median == pytest.approx(float(np.median(timed)))
    assert labels.verdict_hours_p90 == pytest.approx(float(np.quantile(timed, 0.9)))


def test_each_models_precision_and_recall_on_the_reviewed_rows(labelled) -> None:
    version, _ = labelled
    reviewed = [row for row in ROWS if row.status in VERDICTS]
    flagged = [row for row in reviewed if row.flagged]
    hits = sum(row.status == "confirmed_fraud" for row in flagged)
    all_confirmed = sum(row.status == "confirmed_fraud" for row in reviewed)

    by_model = {row["model"]: row for row in label_metrics(version).by_model}

    combined = by_model["combined"]  # the final flag, is_flagged
    assert (combined["flagged"], combined["confirmed"]) == (len(flagged), hits)
    assert combined["precision"] == pytest.approx(hits / len(flagged))
    assert combined["recall"] == pytest.approx(hits / all_confirmed)
    # the fixture's rows are flagged by neither model alone: no precision, zero recall
    assert by_model["iso_forest"]["flagged"] == 0 and by_model["iso_forest"]["precision"] is None
    assert by_model["iso_forest"]["recall"] == 0.0


def test_label_counts_recorded_by_training_are_shown_when_present(labelled) -> None:
    version, _ = labelled
    assert label_metrics(version).labels_used == {"labels_confirmed": 4, "labels_false_positive": 2}


def test_a_version_without_verdicts_has_no_figures_rather_than_zeros(db) -> None:
    from .conftest import Row

    version, _ = build_version([Row(0.9, True), Row(0.5, False, "investigating")])
    labels = label_metrics(version)
    assert [item.precision for item in labels.precision_at] == [None, None]
    assert (labels.false_positive_rate, labels.verdict_hours_median, labels.labels_used) == (None, None, {})


def test_label_metrics_take_two_queries(labelled, django_assert_num_queries) -> None:
    version, _ = labelled
    with django_assert_num_queries(2):
        label_metrics(version)


def test_the_dashboards_copy_is_reused_until_it_expires(labelled) -> None:
    version, scores = labelled
    before = recent_label_metrics(version)
    unreviewed = next(score for score, row in zip(scores, ROWS, strict=True) if row.flagged and row.status is None)
    Review.objects.create(
        transaction_id=unreviewed.transaction_id, status="false_positive", closed_at=version.activated_at
    )

    assert recent_label_metrics(version) == before
    assert label_metrics(version).false_positives == before.false_positives + 1
