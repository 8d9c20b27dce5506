"""Training, storage and activation of model versions; scoring of new rows; artifacts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from detection import score_writes, services
from detection.bundle import load_bundle
from detection.errors import ArtifactError, TrainingInProgress
from detection.estimators import Detector, file_sha256, fit_detector, risk_score
from detection.features import MODEL_FEATURES, build_features, build_reference, model_matrix
from detection.history_rows import HistoryRows
from detection.history_state import FORMAT_VERSION as STATE_FORMAT_VERSION
from detection.kinds import line_kinds
from detection.models import ModelVersion, TransactionScore
from detection.scoring import score_frame, score_posted
from tests.conftest import write_csv
from tests.score_copies import stale_copies
from transactions.models import Transaction
from transactions.selectors import transactions_frame
from transactions.services import ingest_file

from .factories import whole_past

pytestmark = pytest.mark.django_db


def test_training_scores_every_scoreable_row_and_activates(trained_version: ModelVersion) -> None:
    scoreable = Transaction.objects.filter(customer__isnull=False).count()
    assert trained_version.is_active and trained_version.status == ModelVersion.Status.ACTIVE
    assert TransactionScore.objects.filter(model_version=trained_version).count() == scoreable
    assert trained_version.training_rows == scoreable
    metrics = trained_version.metrics
    assert metrics["iso_forest_flags"] == pytest.approx(0.02 * scoreable, abs=0.005 * scoreable)
    assert metrics["autoencoder_flags"] == pytest.approx(0.02 * scoreable, abs=0.005 * scoreable)
    assert metrics["common_anomalies"] == TransactionScore.objects.filter(is_common_anomaly=True).count()
    mapped = {name for name in trained_version.artifacts if name.startswith(("fusion.", "history."))}
    assert set(trained_version.artifacts) - mapped == {
        "scaler",
        "forest",
        "autoencoder",
        "quantiles",
        "autoencoder_arrays",
        "forest_arrays",
        "fusion",
        "priors",
        "history_state",
    }
    assert {name for name in mapped if name.startswith("history.")} == {
        f"history.{name}" for name in HistoryRows.array_names()
    }
    assert all(Path(trained_version.artifacts[name]["path"]).suffix == ".npy" for name in mapped)
    assert all(len(item["sha256"]) == 64 for item in trained_version.artifacts.values())
    assert Path(trained_version.artifacts["autoencoder"]["path"]).suffix == ".keras"


def test_planted_anomalies_rank_at_the_top(trained_version: ModelVersion, demo_frames) -> None:
    labels = demo_frames[1]
    scores = pd.DataFrame.from_records(
        TransactionScore.objects.values("transaction__invoice_no", "anomaly_score", "is_flagged")
    )
    scores["rank"] = scores["anomaly_score"].rank(pct=True)
    planted = scores[scores["transaction__invoice_no"].isin(labels["InvoiceNo"])]
    kinds = labels.set_index("InvoiceNo")["kind"]
    planted = planted.assign(kind=planted["transaction__invoice_no"].map(kinds))

    assert len(planted) == len(labels)
    by_kind = planted.groupby("kind")["rank"].median()
    assert by_kind["huge_quantity"] > 0.98
    assert by_kind["extreme_price"] > 0.98
    assert planted["rank"].median() > 0.9
    assert planted["is_flagged"].mean() > 0.5


def test_risk_score_follows_the_original_rule_exactly(trained_version: ModelVersion) -> None:
    assert risk_score(np.array([3.0, 3.01, 0.0, 0.0, -5.0]), np.array([0.85, 0.0, 0.851, 0.85, 0.0])).tolist() == [
        0.0,
        1.0,
        1.0,
        0.0,
        0.0,
    ]
    rows = pd.DataFrame.from_records(TransactionScore.objects.values("zscore", "autoencoder_score", "risk_score"))
    expected = np.where((rows["zscore"] > 3) | (rows["autoencoder_score"] > 0.85), 1.0, 0.0)
    assert (rows["risk_score"].to_numpy() == expected).all()
    assert 0 < rows["risk_score"].sum() < len(rows)


def test_flagged_rows_carry_an_explanation(trained_version: ModelVersion) -> None:
    flagged = TransactionScore.objects.filter(is_flagged=True).values_list("explanation", flat=True)
    assert flagged
    for explanation in flagged:
        assert len(explanation) == 3
        assert {"feature", "value", "share"} <= set(explanation[0])
        assert explanation[0]["share"] >= explanation[1]["share"] >= explanation[2]["share"]
    assert TransactionScore.objects.filter(is_flagged=False).exclude(explanation=[]).count() == 0


def test_failed_training_leaves_the_active_version_and_its_scores(trained_version, fast_training, monkeypatch):
    before = list(
        TransactionScore.objects.filter(model_version=trained_version)
        .order_by("transaction_id")
        .values_list("transaction_id", "anomaly_score")
    )
    real_insert = score_writes.bulk_insert_frame

    def insert_then_fail(model, frame, **kwargs):
        real_insert(model, frame.iloc[: len(frame) // 2], **kwargs)
        raise RuntimeError("disk full while writing scores")

    monkeypatch.setattr(score_writes, "bulk_insert_frame", insert_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        services.train_and_activate(epochs=3, seed=0)

    failed = ModelVersion.objects.exclude(pk=trained_version.pk).get()
    assert failed.status == ModelVersion.Status.FAILED
    assert "disk full" in failed.error
    assert not failed.is_active
    assert not TransactionScore.objects.filter(model_version=failed).exists()
    assert not (Path(fast_training.settings.ARTIFACTS_DIR) / f"v{failed.pk}").exists()
    trained_version.refresh_from_db()
    assert trained_version.is_active
    after = list(
        TransactionScore.objects.filter(model_version=trained_version)
        .order_by("transaction_id")
        .values_list("transaction_id", "anomaly_score")
    )
    assert after == before


def test_a_second_training_activates_and_retires_the_first(trained_version: ModelVersion) -> None:
    second = services.train_and_activate(epochs=3, seed=0)
    trained_version.refresh_from_db()
    assert second.is_active and not trained_version.is_active
    assert trained_version.status == ModelVersion.Status.RETIRED
    assert ModelVersion.objects.filter(is_active=True).count() == 1


def test_missing_artifact_is_refused_on_load(trained_version: ModelVersion) -> None:
    Path(trained_version.artifacts["autoencoder"]["path"]).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        Detector.load(trained_version.artifacts)


def test_a_history_state_saved_in_an_earlier_layout_is_rebuilt_on_load(trained_version: ModelVersion) -> None:
    artifacts = dict(trained_version.artifacts)
    path = Path(artifacts["history_state"]["path"])
    with np.load(path, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    current = load_bundle(artifacts).state
    # Format 1 kept the last sale lines instead of per-invoice summaries: same file name, other arrays.
    older = {key: value for key, value in arrays.items() if not key.startswith("window_quantity")}
    np.savez(path, **{**older, "format": np.array(STATE_FORMAT_VERSION - 1), "line_quantity": np.zeros(3)})
    artifacts["history_state"] = {**artifacts["history_state"], "sha256": file_sha256(path)}

    rebuilt = load_bundle(artifacts).state

    assert not hasattr(rebuilt, "line_quantity")
    for name, value in current.to_arrays().items():
        assert np.array_equal(getattr(rebuilt, name, value), value), name


def test_same_seed_gives_identical_flags(demo_frames, db, demo_csv) -> None:
    ingest_file(demo_csv)
    frame = transactions_frame()
    matrix = model_matrix(build_features(frame, build_reference(frame)))

    first = fit_detector(matrix, feature_names=MODEL_FEATURES, epochs=2, seed=11).score(matrix)
    second = fit_detector(matrix, feature_names=MODEL_FEATURES, epochs=2, seed=11).score(matrix)

    assert (first.iso_forest_flag == second.iso_forest_flag).all()
    assert (first.autoencoder_flag == second.autoencoder_flag).all()
    assert np.array_equal(first.autoencoder_mse, second.autoencoder_mse)


def test_score_transactions_scores_only_new_rows(trained_version, tmp_path, demo_frames) -> None:
    old = dict(TransactionScore.objects.values_list("transaction_id", "anomaly_score"))
    new_lines = demo_frames[0].drop_duplicates().head(40).copy()
    new_lines["InvoiceNo"] = "9" + new_lines["InvoiceNo"].str.lstrip("C")
    new_lines["CustomerID"] = new_lines["CustomerID"].replace("", "12346")
    ingest_file(write_csv(tmp_path / "update.csv", new_lines))

    assert services.score_new_transactions() == 40
    assert services.score_new_transactions() == 0
    scores = dict(TransactionScore.objects.values_list("transaction_id", "anomaly_score"))
    assert len(scores) == len(old) + 40
    assert all(scores[key] == value for key, value in old.items())
    assert stale_copies(TransactionScore.objects.filter(transaction_id__in=set(scores) - set(old))) == 0


def test_loaded_bundle_scores_like_training(trained_version: ModelVersion) -> None:
    services.load_scoring_bundle.cache_clear()
    bundle = services.scoring_bundle(trained_version)
    frame = transactions_frame()
    rescored = score_frame(frame, bundle)
    stored = pd.DataFrame.from_records(
        TransactionScore.objects.values("transaction_id", "anomaly_score", "is_flagged", "kind")
    ).set_index("transaction_id")
    expected = stored.loc[frame["transaction_id"]]
    assert rescored["anomaly_score"].to_numpy() == pytest.approx(expected["anomaly_score"].to_numpy(), abs=1e-6)
    assert (rescored["is_flagged"].to_numpy() == expected["is_flagged"].to_numpy()).all()
    assert (rescored["kind"].to_numpy() == expected["kind"].to_numpy()).all()


def test_one_row_scored_against_the_training_history_scores_as_in_training(trained_version: ModelVersion) -> None:
    bundle = services.scoring_bundle(trained_version)
    frame = transactions_frame()
    stored = dict(TransactionScore.objects.values_list("transaction_id", "anomaly_score"))
    for position in (0, len(frame) // 2, len(frame) - 1):
        row = frame.iloc[[position]]
        alone = score_frame(row, bundle, past=bundle.past_for(row))
        assert alone["anomaly_score"].iloc[0] == pytest.approx(stored[row["transaction_id"].iloc[0]], abs=1e-6)


def test_cancellations_and_non_product_lines_stay_out_of_the_ranking(trained_version: ModelVersion) -> None:
    rows = pd.DataFrame.from_records(
        TransactionScore.objects.values("kind", "anomaly_score", "is_flagged", "flag_reasons", "original_transaction")
    )
    assert {"sale", "cancellation"} <= set(rows["kind"])
    others = rows[rows["kind"] != "sale"]
    assert (others["anomaly_score"] == 0).all()
    assert all(reasons and reasons[0]["key"] == "rule" for reasons in others.loc[others["is_flagged"], "flag_reasons"])
    linked = rows["original_transaction"].dropna().astype(int)
    assert len(linked) and (rows.loc[linked.index, "kind"] == "cancellation").all()
    flagged_sales = rows[(rows["kind"] == "sale") & rows["is_flagged"]]
    assert flagged_sales["flag_reasons"].map(len).gt(0).mean() > 0.9
    assert all(isinstance(item["text"], str) for reasons in flagged_sales["flag_reasons"] for item in reasons)


def test_second_training_is_refused_while_one_runs(db) -> None:
    running = services.claim_training()
    with pytest.raises(TrainingInProgress):
        services.claim_training()
    ModelVersion.objects.filter(pk=running.pk).update(heartbeat_at=timezone.now() - timedelta(hours=2))
    replacement = services.claim_training()
    running.refresh_from_db()
    assert running.status == ModelVersion.Status.FAILED
    assert replacement.status == ModelVersion.Status.TRAINING


@pytest.mark.slow
def test_real_file_is_scored_with_two_percent_flags(real_data_path, settings, tmp_path, capsys) -> None:
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    ingest_file(real_data_path)
    version = services.train_and_activate(epochs=5, seed=0)

    assert TransactionScore.objects.filter(model_version=version).count() == 401_604
    metrics = version.metrics
    assert 0.018 < metrics["iso_forest_flag_rate"] < 0.022
    assert 0.018 < metrics["autoencoder_flag_rate"] < 0.022
    assert 0 < metrics["common_anomalies"] < min(metrics["iso_forest_flags"], metrics["autoencoder_flags"])
    with capsys.disabled():
        print(f"\nreal file: common anomalies {metrics['common_anomalies']:,} of 401,604")


def test_score_transactions_command_reports_the_count(trained_version, capsys) -> None:
    from django.core.management import call_command

    victims = list(TransactionScore.objects.order_by("id").values_list("id", flat=True)[:5])
    TransactionScore.objects.filter(id__in=victims).delete()
    call_command("score_transactions")
    assert "Scored 5 new transactions" in capsys.readouterr().out


def test_score_transactions_without_a_model_fails_clearly(db) -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=r"(?i)no active model version"):
        call_command("score_transactions")


def test_evaluate_models_prints_the_peer_table_and_stores_it(trained_version: ModelVersion, capsys) -> None:
    from django.core.management import call_command

    call_command("evaluate_models", "--seeds", "0", "--invoices-per-kind", "12")
    out = capsys.readouterr().out
    for label in ("ours: fused (tail + forest)", "ECOD[plain]", "COPOD[history]", "IForest[plain]", "burst"):
        assert label in out
    assert "cancellations / non-product lines in the top 100" in out
    trained_version.refresh_from_db()
    evaluation = trained_version.metrics["evaluation"]
    ours = evaluation["planted"]["ours: fused (tail + forest)"]
    assert 0.5 < ours["roc_auc"] <= 1 and 0 <= ours["top_share"] <= 1 and "top_new_country" in ours
    assert evaluation["sanity"]["non_sale_top_100"] == 0  # the queue ranks sales only
    assert evaluation["sanity"]["worst_week_ratio"] >= 1
    assert evaluation["sanity"]["worst_week_ratio_by_invoice"] >= 1
    assert "counted by invoice" in out
    assert 0 <= ours["worst_seed_share"] <= ours["top_share"]


def test_posted_rows_after_the_data_score_through_the_state_as_through_the_full_history(
    trained_version: ModelVersion,
) -> None:
    services.load_scoring_bundle.cache_clear()
    bundle = services.scoring_bundle(trained_version)
    frame = transactions_frame()
    later = frame["invoice_date"].max() + pd.Timedelta(days=1)
    sales = frame[frame["quantity"] > 0].drop_duplicates("customer_id").head(20)
    posted = sales.assign(
        transaction_id=0, invoice_no=[f"N{n}" for n in range(len(sales))], invoice_date=later
    ).reset_index(drop=True)
    posted.loc[0, "customer_id"] = 99_999_999  # a new customer
    posted.loc[1, "stock_code"] = "NEW-ITEM"  # a new item
    posted.loc[2, "quantity"] = 5_000

    fast = score_posted(posted, bundle)
    full = score_frame(posted, bundle, past=whole_past(bundle.history, posted))

    assert bundle.state.features(posted.assign(kind=line_kinds(posted)), bundle.priors) is not None
    assert fast["anomaly_score"].to_numpy() == pytest.approx(full["anomaly_score"].to_numpy(), abs=1e-12)
    assert (fast["is_flagged"].to_numpy() == full["is_flagged"].to_numpy()).all()
    assert fast["flag_reasons"].tolist() == full["flag_reasons"].tolist()
    assert fast.loc[2, "is_flagged"]


def test_posted_rows_inside_the_data_score_against_their_earlier_invoices_as_against_all(
    trained_version: ModelVersion,
) -> None:
    bundle = services.scoring_bundle(trained_version)
    frame = transactions_frame()
    posted = frame.sample(40, random_state=3).sort_index()  # stored rows: judged without their own invoices
    posted = pd.concat([posted, frame[frame["invoice_no"] == posted["invoice_no"].iloc[0]]]).drop_duplicates()

    fast = score_posted(posted, bundle)
    full = score_frame(posted, bundle, past=whole_past(bundle.history, posted))

    assert bundle.state.features(posted.assign(kind=line_kinds(posted)), bundle.priors) is None
    assert fast["anomaly_score"].to_numpy() == pytest.approx(full["anomaly_score"].to_numpy(), abs=1e-12)
    assert fast["original_transaction_id"].fillna(-1).tolist() == full["original_transaction_id"].fillna(-1).tolist()
    assert fast["flag_reasons"].tolist() == full["flag_reasons"].tolist()
