"""The bundle's format 2 (fusion arrays and training rows as memory-mapped .npy files) against
format 1 (both read whole from .npz): the same scores, every file's sha256 still checked."""

from __future__ import annotations

import json
import mmap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detection.bundle import ScoringBundle, load_bundle
from detection.bundle_format import bundle_format, map_bundle_files
from detection.errors import ArtifactError
from detection.estimators import file_sha256, verified_path
from detection.history_rows import HistoryRows, saved_columns
from detection.models import ModelVersion
from detection.scoring import score_posted
from transactions.selectors import transactions_frame

pytestmark = pytest.mark.django_db


def format_1_artifacts(artifacts: dict, folder: Path) -> dict:
    """The version's artifacts as format 1 wrote them: the fusion arrays beside the settings in
    `fusion.npz`, the training rows' columns (strings as fixed-width unicode) in `history.npz`."""
    bundle = load_bundle(artifacts)
    with np.load(verified_path(artifacts, "fusion"), allow_pickle=False) as stored:
        settings = json.loads(str(stored["settings"]))
    names = settings.pop("arrays")
    settings["format"] = 1
    arrays = {name: np.array(values) for name, values in zip(names, _fusion_arrays(bundle), strict=True)}
    fusion, history = folder / "fusion.npz", folder / "history.npz"
    np.savez(fusion, settings=np.array(json.dumps(settings)), **arrays)
    np.savez(history, **saved_columns(bundle.history))
    older = {name: record for name, record in artifacts.items() if not name.startswith(("fusion.", "history."))}
    older["fusion"] = {"path": str(fusion), "sha256": file_sha256(fusion)}
    older["history"] = {"path": str(history), "sha256": file_sha256(history)}
    return older


def _fusion_arrays(bundle: ScoringBundle) -> list[np.ndarray]:
    fused = bundle.fused
    return [*fused.tail.reference.values(), *(c.sorted_scores for c in fused.calibrators.values())]


def is_mapped(values: np.ndarray) -> bool:
    while values is not None:
        if isinstance(values, mmap.mmap):
            return True
        values = getattr(values, "base", None)
    return False


def posted_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stored rows (judged through the training rows of their customers and StockCodes) and copies
    dated after the data (judged from the history state)."""
    frame = transactions_frame()
    stored = frame.sample(30, random_state=5).sort_index()
    later = frame.drop_duplicates("customer_id").head(10)
    later = later.assign(invoice_no=[f"N{n}" for n in range(len(later))], transaction_id=0)
    later = later.assign(invoice_date=frame["invoice_date"].max() + pd.Timedelta(days=1))
    return stored, later.reset_index(drop=True)


def test_a_saved_version_maps_its_training_rows_and_fusion_arrays(trained_version: ModelVersion) -> None:
    bundle = load_bundle(trained_version.artifacts)

    assert bundle_format(trained_version.artifacts) == 2
    assert all(is_mapped(values) for values in bundle.rows.to_arrays().values() if values.size)
    assert all(is_mapped(values) for values in _fusion_arrays(bundle))


def test_format_1_and_format_2_score_the_same_rows_identically(trained_version: ModelVersion, tmp_path) -> None:
    mapped = load_bundle(trained_version.artifacts)
    whole = load_bundle(format_1_artifacts(trained_version.artifacts, tmp_path))
    assert not any(is_mapped(values) for values in whole.rows.to_arrays().values())
    stored, later = posted_rows()

    for rows in (stored, stored.head(1), stored.tail(3), later):
        pd.testing.assert_frame_equal(mapped.past_for(rows), whole.past_for(rows), check_exact=True)
        pd.testing.assert_frame_equal(score_posted(rows, mapped), score_posted(rows, whole), check_exact=True)
    pd.testing.assert_frame_equal(mapped.history, whole.history, check_exact=True)


def test_the_rows_past_for_reads_are_those_of_the_whole_frame(trained_version: ModelVersion) -> None:
    bundle = load_bundle(trained_version.artifacts)
    stored, _ = posted_rows()
    past = bundle.past_for(stored)

    expected = bundle.history.loc[past.index]  # the same rows, read from the frame of every row
    pd.testing.assert_frame_equal(past, expected, check_exact=True)
    history = bundle.history
    theirs = history["customer_id"].isin(stored["customer_id"]) & ~history["invoice_no"].isin(stored["invoice_no"])
    assert set(history.index[theirs]) <= set(past.index)  # every other row of their customers'
    assert not past["invoice_no"].isin(stored["invoice_no"]).any()


@pytest.mark.parametrize("name", ["history.column__seconds", "history.customer_positions", "fusion.calibration__tail"])
def test_a_changed_mapped_file_is_refused(trained_version: ModelVersion, name: str) -> None:
    path = Path(trained_version.artifacts[name]["path"])
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(ArtifactError, match="does not match its recorded sha256"):
        load_bundle(trained_version.artifacts)


def test_a_missing_or_unrecorded_mapped_file_is_refused(trained_version: ModelVersion) -> None:
    artifacts = dict(trained_version.artifacts)
    Path(artifacts["history.stock_positions"]["path"]).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_bundle(artifacts)

    del artifacts["history.stock_positions"]
    with pytest.raises(ArtifactError, match="not recorded"):
        load_bundle(artifacts)


def test_a_changed_format_1_history_is_refused(trained_version: ModelVersion, tmp_path) -> None:
    artifacts = format_1_artifacts(trained_version.artifacts, tmp_path)
    path = Path(artifacts["history"]["path"])
    path.write_bytes(path.read_bytes()[:-1])

    with pytest.raises(ArtifactError, match="does not match its recorded sha256"):
        load_bundle(artifacts)


def test_a_format_1_version_is_rewritten_in_format_2_with_the_same_scores(
    trained_version: ModelVersion, tmp_path
) -> None:
    trained_version.artifacts = format_1_artifacts(trained_version.artifacts, tmp_path)
    trained_version.save(update_fields=["artifacts"])
    stored, later = posted_rows()
    before = load_bundle(trained_version.artifacts)

    assert map_bundle_files(trained_version) is True

    trained_version.refresh_from_db()
    assert bundle_format(trained_version.artifacts) == 2 and "history" not in trained_version.artifacts
    after = load_bundle(trained_version.artifacts)
    assert is_mapped(after.rows.columns["seconds"])
    for rows in (stored, later):
        pd.testing.assert_frame_equal(score_posted(rows, after), score_posted(rows, before), check_exact=True)
    assert map_bundle_files(trained_version) is False


def test_history_rows_built_from_a_frame_index_it_as_saved() -> None:
    history = pd.DataFrame(
        {
            "transaction_id": [1, 2, 3, 4],
            "invoice_no": ["A1", "A1", "B2", "C3"],
            "stock_code": ["X", "Y", "X", "Z"],
            "quantity": [1, 2, -1, 3],
            "unit_price": [1.5, 2.0, 1.5, 0.0],
            "customer_id": [7, 7, 8, 7],
            "country": ["France", "France", "Spain", "France"],
            "quantity_vs_item": [0.1, 0.2, 0.3, 0.4],
            "kind": ["sale", "sale", "cancellation", "sale"],
            "invoice_date": pd.to_datetime(
                ["2011-01-01 10:00", "2011-01-01 10:00", "2011-01-03 09:00", "2011-01-05 09:00"], utc=True
            ),
        }
    )
    rows = HistoryRows.from_frame(history)

    assert list(rows.stock_keys) == ["X", "Y", "Z"]
    assert list(rows.customer_keys) == [7, 8]
    assert rows.customer_positions[rows.customer_offsets[0] : rows.customer_offsets[1]].tolist() == [0, 1, 3]
    assert rows.stock_positions[rows.stock_offsets[0] : rows.stock_offsets[1]].tolist() == [0, 2]
    # X sold on 1 Jan only (its 3 Jan line is a cancellation); Z's line has no price.
    assert np.diff(rows.selling_offsets).tolist() == [1, 1, 0]
    pd.testing.assert_frame_equal(rows.frame().drop(columns="invoice_date"), history.drop(columns="invoice_date"))


def test_a_training_frame_is_encoded_as_its_saved_columns_are(trained_version: ModelVersion) -> None:
    history = load_bundle(trained_version.artifacts).history
    history["kind"] = pd.Categorical(history["kind"], categories=["sale", "cancellation", "non_product"])
    direct = HistoryRows.from_frame(history).to_arrays()
    through_text = HistoryRows.from_columns(saved_columns(history)).to_arrays()
    assert direct.keys() == through_text.keys()
    for name, values in through_text.items():
        assert values.dtype.kind == direct[name].dtype.kind, name
        assert np.array_equal(direct[name], values), name
