"""Tail detector, calibration, fusion and reasons: small generated frames, no database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detection.estimators import fit_detector
from detection.evaluation import VARIED_KINDS, plant_varied, planted_features, top_share_report
from detection.fusion import CORROBORATION_WEIGHT, LEGACY_CORROBORATION_WEIGHT, fit_fused, fuse
from detection.history import fit_priors, history_features
from detection.reasons import reasons
from detection.tail_detector import TAIL_FEATURES, Calibrator, TailDetector, right_tail

from .factories import frame, line, weekly_invoices


def test_right_tail_is_smoothed_and_never_zero() -> None:
    reference = np.array([0.0, 0.0, 1.0, 2.0])
    assert right_tail(reference, np.array([0.0, 2.0, 9.0])).tolist() == pytest.approx([1.0, 0.4, 0.2])


def test_one_detector_strong_evidence_is_not_averaged_away() -> None:
    strong_in_one = {"tail": np.array([1e-4]), "iso_forest": np.array([0.5])}
    mild_in_both = {"tail": np.array([0.01]), "iso_forest": np.array([0.01])}
    both = {name: np.r_[strong_in_one[name], mild_in_both[name]] for name in strong_in_one}
    mean_rank = fuse(both, method="mean_rank")
    min_tail = fuse(both, method="min_tail")
    assert mean_rank[0] < mean_rank[1]  # the seed's averaging buries the strong single signal
    assert min_tail[0] > min_tail[1]


def _inputs(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {name: rng.normal(size=rows) for name in TAIL_FEATURES}
    data["destination_evidence"] = np.zeros(rows)
    data["burst_surprise"] = np.zeros(rows)
    return pd.DataFrame(data)


def test_tail_detector_ranks_a_single_extreme_feature_first() -> None:
    training = _inputs(2_000)
    detector = TailDetector.fit(training)
    rows = _inputs(3, seed=1)
    rows.loc[0, "price_ratio"] = -8.0  # far below the item's price: "both" tails count
    rows.loc[1, "destination_evidence"] = np.log1p(14)  # never seen in training
    scores = detector.score(rows)
    assert scores[0] > scores[2] and scores[1] > scores[2]
    assert detector.surprise(rows).shape == (3, len(detector.names))
    calibrator = Calibrator.fit(detector.score(training))
    assert calibrator.tail(scores[:2]).max() < 0.001
    assert (detector.score(training) > calibrator.threshold(0.02)).mean() == pytest.approx(0.02, abs=0.002)


def _shop() -> pd.DataFrame:
    lines = []
    for customer in range(1, 13):
        country = "France" if customer % 4 == 0 else "United Kingdom"
        lines += weekly_invoices(customer, 8, start=f"2011-01-0{3 + customer % 5} 1{customer % 6}:00", country=country)
    return frame(*lines)


def test_plants_of_every_kind_are_judged_against_real_history_only() -> None:
    rows = _shop()
    features = history_features(rows)
    planted = plant_varied(rows, features, seed=4, invoices_per_kind=6)
    assert set(planted["plant_kind"]) == set(VARIED_KINDS)
    assert not planted["invoice_no"].isin(rows["invoice_no"]).any()
    planted_feats = planted_features(planted, rows, priors=fit_priors(rows))
    new_country = planted_feats[(planted["plant_kind"] == "new_country").to_numpy()]
    assert new_country["unusual_destination"].all()
    late = planted_feats[(planted["plant_kind"] == "off_hours").to_numpy()]
    assert late["transaction_hour"].isin([0, 1, 2, 3, 4, 5, 21, 22, 23]).all()
    burst = planted_feats[((planted["plant_kind"] == "burst") & (planted["label"] == 1)).to_numpy()]
    assert (burst["invoices_last_hour"] >= 2).all()


def test_a_row_not_marked_as_history_is_invisible_to_the_others() -> None:
    rows = _shop()
    new = frame(
        line(invoice_no="N1", when="2011-04-01 10:00", customer_id=1, country="Brazil"),
        line(invoice_no="N2", when="2011-04-01 10:30", customer_id=1, country="Brazil"),
    )
    alone = history_features(new, past=rows, rows_are_history=False)
    together = history_features(new, past=rows)
    assert alone["earlier_in_country"].tolist() == [0, 0]
    assert together["earlier_in_country"].tolist() == [0, 1]


def test_top_share_report_counts_planted_rows_above_the_normal_top_two_percent() -> None:
    normal = np.arange(1_000, dtype=float)
    planted = np.array([2_000.0, 1.0, 990.0, 5_000.0])
    kinds = np.array(["burst", "burst", "huge_quantity", "off_hours"])
    report = top_share_report(normal, planted, kinds)
    assert report["top_share"] == 0.75
    assert report["top_burst"] == 0.5 and report["top_off_hours"] == 1.0
    assert 0.7 < report["roc_auc"] < 1.0


def test_reasons_are_data_with_a_key_the_numbers_and_a_sentence() -> None:
    rows = _shop()
    rows = pd.concat(
        [rows, frame(line(invoice_no="BR", when="2011-04-01 10:00", customer_id=1, country="Brazil"))],
        ignore_index=True,
    )
    features = history_features(rows)
    scores = pd.DataFrame({"iso_forest_flag": False, "iso_forest_score": 0.5}, index=features.index)
    for name in TAIL_FEATURES:
        scores[f"surprise_{name}"] = 0.0
    scores.loc[len(rows) - 1, "surprise_destination_evidence"] = 9.0
    [items] = reasons(features, scores, np.array([len(rows) - 1]))
    assert items == [
        {
            "key": "new_country",
            "values": {"country": "Brazil", "earlier_invoices": 8, "previous_country": "United Kingdom"},
            "surprise": 9.0,
            "text": "first purchase from Brazil; 8 earlier invoices, all United Kingdom",
        }
    ]


def test_a_detectors_weight_divides_its_tail_probability() -> None:
    tails = {"tail": np.array([0.002, 0.01]), "iso_forest": np.array([0.5, 0.003])}
    plain = fuse(tails, corroboration=0.01)
    weighted = fuse(tails, weights={"tail": 1.0, "iso_forest": 2.0}, corroboration=0.01)
    assert plain[0] > plain[1]  # the tail detector's 0.002 is the stronger evidence...
    assert weighted[1] > weighted[0]  # ...until the forest's 0.003 counts as 0.0015
    assert weighted[1] == pytest.approx(-np.log(0.003 / 2) - 0.01 * np.log(0.01))
    assert weighted[0] == pytest.approx(-np.log(0.002) - 0.01 * np.log(0.5 / 2))


def test_corroboration_ranks_a_row_both_detectors_find_odd_above_a_single_slightly_odder_one() -> None:
    tails = {"tail": np.array([0.004, 0.003]), "iso_forest": np.array([0.006, 0.6])}
    both, single = fuse(tails, corroboration=CORROBORATION_WEIGHT)
    assert both > single
    assert both == pytest.approx(-np.log(0.004) - CORROBORATION_WEIGHT * np.log(0.006))
    legacy_both, legacy_single = fuse(tails, corroboration=LEGACY_CORROBORATION_WEIGHT)
    assert legacy_single > legacy_both  # nearly the max alone, as versions fused before


def test_the_fusion_weights_are_saved_with_the_version_and_old_versions_fuse_as_before(
    trained_version, tmp_path
) -> None:
    import json

    from detection import services
    from detection.bundle import load_bundle
    from detection.estimators import file_sha256, verified_path
    from detection.fusion import FUSION_WEIGHTS

    services.load_scoring_bundle.cache_clear()
    fused = services.scoring_bundle(trained_version).fused
    assert fused.weights == FUSION_WEIGHTS
    assert fused.corroboration == CORROBORATION_WEIGHT
    with np.load(verified_path(trained_version.artifacts, "fusion"), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    settings = json.loads(str(arrays.pop("settings")))
    assert settings.pop("weights") == FUSION_WEIGHTS
    assert settings.pop("corroboration") == CORROBORATION_WEIGHT
    old = tmp_path / "fusion.npz"  # the file as versions wrote it before the weights
    np.savez(old, settings=np.array(json.dumps(settings)), **arrays)
    artifacts = {**trained_version.artifacts, "fusion": {"path": str(old), "sha256": file_sha256(old)}}
    legacy = load_bundle(artifacts).fused
    assert legacy.weights == {}
    assert legacy.corroboration == LEGACY_CORROBORATION_WEIGHT


def test_the_fit_reads_only_its_input_columns() -> None:
    from detection.fusion import FIT_INPUT_COLUMNS

    lines = []
    for customer in range(1, 30):
        lines += weekly_invoices(customer, 8, start=f"2011-01-0{1 + customer % 7} 0{8 + customer % 2}:00")
    features = history_features(frame(*lines))
    fitted = [
        fit_fused(subset, epochs=1, seed=0, fit_models=lambda matrix, **kwargs: fit_detector(matrix, **kwargs))
        for subset in (features, features[FIT_INPUT_COLUMNS])
    ]
    assert fitted[0].fused_threshold == fitted[1].fused_threshold
    for name, calibrator in fitted[0].calibrators.items():
        assert np.array_equal(calibrator.sorted_scores, fitted[1].calibrators[name].sorted_scores)
