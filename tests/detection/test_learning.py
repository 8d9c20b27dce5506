"""Training with analysts' verdicts: the no-label path, the recorded labels, the blend as served,
feedback in the explanation, and the simulated analysts' evaluation never measuring a trained row."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from detection import services
from detection.bundle import load_bundle
from detection.history import history_features
from detection.kinds import line_kinds
from detection.models import TransactionScore
from detection.scoring import score_posted
from detection.services import scoring_bundle, train_and_activate
from detection.simulated_analysts import real_sales, simulate_seed, unsupervised
from reviews.models import Review
from tests.factories import ReviewFactory
from transactions.models import Transaction
from transactions.selectors import transactions_frame
from transactions.services import ingest_file

pytestmark = pytest.mark.django_db

SCORE_VALUES = [
    "transaction_id",
    "anomaly_score",
    "is_flagged",
    "iso_forest_score",
    "autoencoder_mse",
    "risk_score",
    "explanation",
    "flag_reasons",
    "kind",
]
CLOSED = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def stored_scores(version) -> pd.DataFrame:
    rows = TransactionScore.objects.filter(model_version=version).order_by("transaction_id").values(*SCORE_VALUES)
    return pd.DataFrame.from_records(rows)


def sale_ranking(version) -> list[int]:
    return list(
        TransactionScore.objects.filter(model_version=version, kind="sale")
        .order_by("-anomaly_score", "transaction_id")
        .values_list("transaction_id", flat=True)
    )


def give_verdicts(confirmed: list[int], dismissed: list[int]) -> dict[str, list[int]]:
    ids = {"confirmed_fraud": [], "false_positive": []}
    for status, transaction_ids in (
        (Review.Status.CONFIRMED_FRAUD, confirmed),
        (Review.Status.FALSE_POSITIVE, dismissed),
    ):
        for transaction_id in transaction_ids:  # a few dozen rows
            review = ReviewFactory(
                transaction=Transaction.objects.get(pk=transaction_id), status=status, closed_at=CLOSED
            )
            ids[status.value].append(review.pk)
    return ids


def test_an_empty_label_provider_scores_exactly_as_no_provider(db, demo_csv, fast_training, settings) -> None:
    ingest_file(demo_csv)
    settings.DETECTION_LABEL_PROVIDER = ""
    without = train_and_activate(epochs=3, seed=0)
    settings.DETECTION_LABEL_PROVIDER = "reviews.selectors.verdict_labels"  # no review yet: no rows
    empty = train_and_activate(epochs=3, seed=0)

    pd.testing.assert_frame_equal(stored_scores(without), stored_scores(empty))
    assert without.thresholds == empty.thresholds
    assert "supervised" not in empty.artifacts and "feedback" not in empty.artifacts
    assert empty.metrics["labels"]["used"] == {"confirmed_fraud": 0, "false_positive": 0}
    assert empty.metrics["labels"]["blended"] is False


def test_training_records_the_verdicts_it_used_and_serves_the_blend(trained_version, fast_training) -> None:
    ranking = sale_ranking(trained_version)
    given = give_verdicts(confirmed=ranking[:25], dismissed=ranking[25:50])
    ReviewFactory(
        transaction=Transaction.objects.get(pk=ranking[60]), status=Review.Status.INVESTIGATING
    )  # not a verdict

    version = train_and_activate(epochs=3, seed=0)

    labels = version.metrics["labels"]
    assert labels["used"] == {"confirmed_fraud": 25, "false_positive": 25}
    assert labels["review_ids"] == {key: sorted(value) for key, value in given.items()}
    assert labels["blended"] is True
    assert {"supervised", "feedback"} <= set(version.artifacts)
    scores = stored_scores(version).set_index("transaction_id")
    assert (
        scores.loc[ranking[:25], "anomaly_score"]
        != stored_scores(trained_version).set_index("transaction_id").loc[ranking[:25], "anomaly_score"]
    ).any()

    services.load_scoring_bundle.cache_clear()
    bundle = scoring_bundle(version)
    assert bundle.fused.supervised is not None and len(bundle.fused.feedback.verdicts) == 50
    frame = transactions_frame().set_index("transaction_id", drop=False)
    for transaction_id in (ranking[0], ranking[30], ranking[200], ranking[-1]):
        # The whole invoice is posted: its figures (amount, ...) are those of all its lines.
        invoice = frame[frame["invoice_no"] == frame.loc[transaction_id, "invoice_no"]]
        posted = score_posted(invoice.reset_index(drop=True), bundle).set_index("transaction_id")
        assert posted.loc[transaction_id, "anomaly_score"] == pytest.approx(
            scores.loc[transaction_id, "anomaly_score"], abs=1e-9
        )


def test_dismissed_rows_leave_the_queue_and_say_why(trained_version, fast_training) -> None:
    ranking = sale_ranking(trained_version)
    give_verdicts(confirmed=ranking[:25], dismissed=ranking[25:50])

    version = train_and_activate(epochs=3, seed=0)

    scores = stored_scores(version).set_index("transaction_id").loc[ranking[25:50]]
    assert not scores["is_flagged"].any()
    first_reasons = [reasons[0] for reasons in scores["flag_reasons"]]
    assert all(item["key"] == "similar_to_dismissed" for item in first_reasons)
    assert all("dismissed on 3 Nov 2026" in item["text"] for item in first_reasons)


def test_too_few_verdicts_give_feedback_but_no_blend(trained_version, fast_training) -> None:
    ranking = sale_ranking(trained_version)
    give_verdicts(confirmed=ranking[:19], dismissed=ranking[19:44])

    version = train_and_activate(epochs=3, seed=0)

    assert version.metrics["labels"]["used"] == {"confirmed_fraud": 19, "false_positive": 25}
    assert version.metrics["labels"]["blended"] is False
    assert "supervised" not in version.artifacts and "feedback" in version.artifacts
    assert load_bundle(version.artifacts).fused.supervised is None


def test_simulated_analysts_never_measure_a_row_they_trained_on(trained_version) -> None:
    bundle = scoring_bundle(trained_version)
    rows = transactions_frame()
    rows["kind"] = line_kinds(rows)
    features = history_features(rows, priors=bundle.priors)
    sales = real_sales(rows, features, unsupervised(bundle.fused))

    figures = simulate_seed(
        sales, rows, features, bundle.fused, bundle.priors, seed=0, invoices_per_kind=20, false_positives=30
    )

    trained, measured = figures["trained_ids"], figures["measured_ids"]
    assert len(trained) > 30 and len(measured) > 1_000
    assert len(np.intersect1d(trained, measured)) == 0
    assert figures["false_positive_lines"] == 30
    assert figures["confirmed_lines"] > 0 and figures["measured_planted_lines"] > figures["confirmed_lines"]
    assert 0.0 <= figures["top_share_after"] <= 1.0


def test_the_labels_evaluation_prints_each_seed_and_their_mean(trained_version, capsys) -> None:
    from django.core.management import call_command

    call_command(
        "evaluate_models", "--labels", "--seeds", "0", "1", "--invoices-per-kind", "20", "--false-positives", "30"
    )

    out = capsys.readouterr().out
    trained_version.refresh_from_db()
    seeds = trained_version.metrics["label_evaluation"]["seeds"]
    after = [seed["top_share_after"] for seed in seeds]
    line = next(line for line in out.splitlines() if line.startswith("top_share_after"))
    printed = [float(value) for value in line.split()[1:]]
    assert printed == pytest.approx([after[0], after[1], np.mean(after)], abs=5e-4 + 1e-9)  # rounded to 3 places
    assert out.splitlines()[1].split() == ["seed", "0", "1", "mean"]
