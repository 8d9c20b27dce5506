"""Training in parts of whole customers: the same features, scores, counts and figures as one part."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from detection import history_parts, item_baselines, training_passes
from detection.daily_counts import first_write_counts, summed_counts
from detection.history import fit_priors, history_features
from detection.history_parts import customer_parts, history_feature_parts
from detection.history_rows import HistoryRows
from detection.history_state import build_history_state
from detection.history_stats import _invoices, _prepare_lines
from detection.kinds import SALE, line_kinds
from detection.metrics import MetricsTally, training_metrics
from detection.models import DailyScoreCount, ModelVersion, TransactionScore
from detection.text_codes import sorted_codes
from detection.training_passes import fit_set_positions, labelled_positions
from transactions.selectors import transactions_frame
from transactions.services import ingest_file

SCORE_FIELDS = [
    field.name for field in TransactionScore._meta.concrete_fields if field.name not in ("id", "model_version")
]


@pytest.fixture
def demo_frame(db, demo_csv) -> pd.DataFrame:
    ingest_file(demo_csv)
    frame = transactions_frame()
    frame["kind"] = line_kinds(frame)
    return frame


@pytest.mark.parametrize("code_chunk_rows", [1_000_000, 5])
def test_customer_parts_hold_whole_customers_and_every_row_once(monkeypatch, code_chunk_rows: int) -> None:
    monkeypatch.setattr(history_parts, "CODE_CHUNK_ROWS", code_chunk_rows)  # rows looked up a few at a time
    customers = np.array([5, 3, 5, 9, 3, 3, 7, 5, 9, 1, 1, 8])
    parts = list(customer_parts(customers, part_rows=4))
    # Customers 1 and 3 (5 rows) close the first part, 5 the second, 7, 8 and 9 the last.
    assert [part.tolist() for part in parts] == [[1, 4, 5, 9, 10], [0, 2, 7], [3, 6, 8, 11]]
    assert len(parts) > 1
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(customers)))
    owners = [set(customers[part]) for part in parts]
    for number, mine in enumerate(owners):  # no customer in two parts
        assert not mine & set().union(*(others for n, others in enumerate(owners) if n != number))
    assert all(np.all(np.diff(part) > 0) for part in parts)
    assert [part.tolist() for part in customer_parts(customers, part_rows=100)] == [list(range(len(customers)))]
    assert list(customer_parts(np.zeros(0, dtype=np.int64), part_rows=4)) == []


def test_features_in_parts_equal_the_whole_frames_to_the_last_bit(demo_frame) -> None:
    priors = fit_priors(demo_frame)
    whole = history_features(demo_frame, priors=priors)
    parts = list(history_feature_parts(demo_frame, priors, part_rows=150))
    assert len(parts) > 5
    got = pd.concat([features for _, features in parts]).loc[whole.index]
    pd.testing.assert_frame_equal(got, whole, check_exact=True)
    for positions, features in parts:
        assert features.index.equals(demo_frame.index[positions])


def test_lines_computed_once_give_the_priors_features_and_state_of_separate_computations(demo_frame, tmp_path) -> None:
    frame = demo_frame.copy()
    priors = fit_priors(frame)
    prepared = training_passes.TrainingLines.of(frame)
    assert prepared.priors == priors
    alone = pd.concat([features for _, features in history_feature_parts(frame, priors, part_rows=150)])
    spilled = training_passes.spill_features(
        frame, prepared, tmp_path, labelled=np.zeros(0, dtype=np.int64), part_rows=150
    )
    shared = pd.concat([pd.read_pickle(path)[1] for path in spilled.part_files])
    pd.testing.assert_frame_equal(shared, alone, check_exact=True)
    assert len(spilled.fit_files) > 5 and spilled.fit_features is None  # the fit set waits in its files

    rows, state = training_passes.bundle_history(frame, spilled, prepared)
    assert len(prepared.lines) == 0
    spilled.load_fit_set()
    sale = frame.index[(frame["kind"] == SALE).to_numpy()]  # every sale line (fewer than FIT_SET_ROWS)
    pd.testing.assert_frame_equal(spilled.fit_features, alone.loc[sale, spilled.fit_features.columns], check_exact=True)
    pd.testing.assert_frame_equal(spilled.fit_frame, frame.loc[sale, training_passes.FRAME_COLUMNS], check_exact=True)
    assert spilled.fit_files == [] and sorted(tmp_path.glob("fit-*")) == []
    expected = build_history_state(frame)  # frame now carries pass 1's quantity_vs_item
    for name, values in vars(state).items():
        np.testing.assert_array_equal(values, getattr(expected, name), err_msg=name)
    assert rows.to_arrays().keys() == HistoryRows.from_frame(frame).to_arrays().keys()
    assert demo_frame["invoice_no"].equals(frame["invoice_no"])  # the shared arrays were not written to


def test_an_invoice_amount_does_not_depend_on_the_other_rows_at_hand() -> None:
    # A real invoice's line amounts: pandas' grouped sum gives 801.8600000000001 for them alone and
    # 801.86 among other invoices' lines.
    spent = [90.0, 90.0, 45.0, 10.2, 15.600000000000001, 40.8, 30.0, 53.1, 70.80000000000001, 46.8, 46.8, 46.8]
    spent += [17.0, 39.599999999999994, 70.80000000000001, 45.0, 10.08, 10.08, 23.400000000000002, 0.0]
    rng = np.random.default_rng(0)
    others = rng.integers(0, 50, 1_000).astype(str)
    invoice_no = np.r_[np.full(len(spent), "536370"), others]
    lines = pd.DataFrame(
        {
            "invoice_no": invoice_no,
            "customer_id": 1,
            "seconds": 0,
            "country": "United Kingdom",
            "hour": 10,
            "kind": SALE,
            "total_spent": np.r_[spent, np.round(rng.random(len(others)) * 50, 2)],
        }
    )
    among_others = _invoices(lines).loc["536370", "sale_amount"]
    alone = _invoices(lines.iloc[: len(spent)]).loc["536370", "sale_amount"]
    assert alone == among_others


def test_the_fit_set_is_every_sale_line_up_to_its_limit_then_a_sample_with_the_verdicts() -> None:
    sale = np.array([True, False, True, True, True, False, True, True, True, True])
    assert fit_set_positions(sale, np.array([1]), limit=20).tolist() == np.flatnonzero(sale).tolist()
    sampled = fit_set_positions(sale, np.array([1, 9]), limit=3, seed=1)
    assert 9 in sampled and 1 not in sampled  # a verdict on a sale line joins; not on another line
    assert len(sampled) in (3, 4) and set(sampled) <= set(np.flatnonzero(sale))
    assert np.all(np.diff(sampled) > 0)


def test_labelled_positions_find_the_rows_by_transaction_id() -> None:
    frame = pd.DataFrame({"transaction_id": [3, 8, 11, 40]})
    labels = pd.DataFrame({"transaction_id": [40, 8, 99, 8]})
    assert labelled_positions(frame, labels).tolist() == [1, 3]
    assert labelled_positions(frame, labels.iloc[:0]).tolist() == []


def test_metrics_and_counts_of_parts_add_up_to_those_of_all_rows() -> None:
    rng = np.random.default_rng(2)
    count = 5_000
    scores = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 200, count),
            "invoice_date": pd.Timestamp("2011-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 90 * 86400, count), "s"),
            "country": rng.choice(["United Kingdom", "France", "EIRE"], count),
            **{name: rng.random(count) < 0.03 for name in ("iso_forest_flag", "autoencoder_flag", "is_flagged")},
            "is_common_anomaly": rng.random(count) < 0.01,
            "risk_score": (rng.random(count) < 0.1) * 1.0,
            "anomaly_score": rng.random(count),
        }
    )
    tally = MetricsTally()
    parts = [scores[scores["customer_id"] % 3 == n] for n in range(3)]
    for part in parts:
        tally.add(part)
    assert tally.result() == training_metrics(scores)
    pd.testing.assert_frame_equal(
        summed_counts([first_write_counts(part) for part in parts]), first_write_counts(scores)
    )


def _stored(version: ModelVersion) -> tuple[pd.DataFrame, pd.DataFrame]:
    scores = pd.DataFrame.from_records(
        TransactionScore.objects.filter(model_version=version).values(*SCORE_FIELDS)
    ).set_index("transaction")
    counts = pd.DataFrame.from_records(
        DailyScoreCount.objects.filter(model_version=version)
        .order_by("day", "country")
        .values("day", "country", "scored", "flagged", "common", "iso_forest_flagged", "autoencoder_flagged")
    )
    return scores.sort_index(), counts


def test_training_in_many_parts_stores_what_one_part_stores(db, demo_csv, fast_training, monkeypatch) -> None:
    ingest_file(demo_csv)
    one = fast_training.train_and_activate(epochs=2, seed=0)
    monkeypatch.setattr(training_passes, "PART_ROWS", 200)
    many = fast_training.train_and_activate(epochs=2, seed=0)
    first, second = _stored(one), _stored(many)
    assert len(first[0]) == len(transactions_frame())
    pd.testing.assert_frame_equal(second[0], first[0], check_exact=True)
    pd.testing.assert_frame_equal(second[1], first[1], check_exact=True)
    drop = ("seconds", "duration")
    assert {k: v for k, v in many.metrics.items() if not k.endswith(drop)} == {
        k: v for k, v in one.metrics.items() if not k.endswith(drop)
    }


def test_a_fit_set_under_the_sale_lines_is_sampled_and_every_row_is_still_scored(
    db, demo_csv, fast_training, monkeypatch
) -> None:
    ingest_file(demo_csv)
    monkeypatch.setattr(training_passes, "FIT_SET_ROWS", 500)
    version = fast_training.train_and_activate(epochs=2, seed=0)
    assert version.metrics["fit_set_rows"] == 500
    assert version.metrics["sale_lines"] > 500
    assert TransactionScore.objects.filter(model_version=version).count() == len(transactions_frame())


def test_sorted_codes_are_what_unique_gives_the_text_of_every_row() -> None:
    values = np.array(["85123A", "22423", "POST", "22423", None, "ÉIRE", "85123A", "C2"], dtype=object)
    keys, codes = sorted_codes(values)
    expected_keys, expected_codes = np.unique(values.astype(str), return_inverse=True)
    assert keys.dtype == expected_keys.dtype
    assert np.array_equal(keys, expected_keys) and np.array_equal(codes, expected_codes)
    present = values[[0, 1, 2, 3, 5, 6, 7]]
    keys, codes = sorted_codes(present)
    expected_keys, expected_codes = np.unique(present.astype(str), return_inverse=True)
    assert np.array_equal(keys, expected_keys) and np.array_equal(codes, expected_codes)


def test_the_part_files_are_gone_after_a_run_and_after_a_failed_one(
    db, demo_csv, fast_training, monkeypatch, tmp_path
) -> None:
    import tempfile

    from detection.errors import TrainingError

    spills = tmp_path / "spills"
    spills.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spills))
    ingest_file(demo_csv)
    fast_training.train_and_activate(epochs=1, seed=0)
    assert list(spills.iterdir()) == []

    def broken_fit(*args, **kwargs):
        assert len(list(spills.glob("training-v*/part-*.pickle"))) > 0  # pass 1 wrote its parts
        raise TrainingError("the fit failed")

    monkeypatch.setattr(fast_training, "fit_fused", broken_fit)
    with pytest.raises(TrainingError):
        fast_training.train_and_activate(epochs=1, seed=0)
    assert list(spills.iterdir()) == []
    assert ModelVersion.objects.filter(status=ModelVersion.Status.FAILED).count() == 1


def test_the_score_table_keeps_every_index_through_a_training_write(db, demo_csv, fast_training) -> None:
    from django.db import connection

    table = TransactionScore._meta.db_table

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            return set(connection.introspection.get_constraints(cursor, table))

    before = indexes()
    ingest_file(demo_csv)
    fast_training.train_and_activate(epochs=1, seed=0)
    fast_training.train_and_activate(epochs=1, seed=0)  # a table as large as the rows written
    assert indexes() == before
    assert len(before) > 5


def test_daily_item_medians_of_items_in_chunks_are_those_of_one_pass(demo_frame, monkeypatch) -> None:
    lines = _prepare_lines(demo_frame)
    stock, _ = pd.factorize(lines["stock_code"])
    sold = (lines["kind"] == SALE).to_numpy() & (lines["unit_price"].to_numpy() > 0)
    one_pass = item_baselines.daily_item_medians(lines, stock, sold)
    assert len(one_pass) > 100 and one_pass["stock"].is_monotonic_increasing
    monkeypatch.setattr(item_baselines, "MEDIAN_CHUNK_LINES", 37)  # many chunks, none at an item's edge
    chunked = item_baselines.daily_item_medians(lines, stock, sold)
    pd.testing.assert_frame_equal(chunked, one_pass, check_exact=True)
    nothing = item_baselines.daily_item_medians(lines, stock, np.zeros(len(lines), dtype=bool))
    assert list(nothing.columns) == list(one_pass.columns) and len(nothing) == 0


def _fit_set(rows: int) -> training_passes.SpilledFeatures:
    index = pd.RangeIndex(rows)
    return training_passes.SpilledFeatures(
        quantity_vs_item=np.zeros(0),
        part_files=[],
        fit_features=pd.DataFrame({"a": np.arange(rows, dtype=np.float64), "b": np.ones(rows)}, index=index),
        fit_frame=pd.DataFrame({"transaction_id": np.arange(rows)}, index=index),
    )


def test_a_released_fit_set_holds_no_memory() -> None:
    tracemalloc.start()  # before the arrays are made: only traced blocks count when freed
    try:
        spilled = _fit_set(500_000)  # 12 MB of columns
        before = tracemalloc.get_traced_memory()[0]
        spilled.release_fit_set()
        freed = before - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(spilled.fit_features) == len(spilled.fit_frame) == 0
    assert list(spilled.fit_features.columns) == ["a", "b"]
    assert freed > 10 * 2**20  # an empty view (iloc[:0]) would keep every column's array alive
