"""Ingest of a file of many chunks: planned in a child process or a thread, written in order, undone on failure."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from core import ahead_process
from transactions import load_plan, services
from transactions.models import Customer, ImportBatch, QuarantinedRow, Transaction
from transactions.services import ingest_file
from transactions.source import Limits

pytestmark = pytest.mark.django_db

BAD_LINES = {
    10: "536999,85123A,HOLDER,six,12/1/2010 8:26,2.55,17850,United Kingdom",
    700: '536999,85123A,"HOLDER, WHITE",6,12/1/2010 8:26,2.55,17850,United Kingdom',
    1500: "536999,85123A,HOLDER,6,12/1/2010 8:26,2.55,17850",
    2900: "536999,85123A,HOLDER,6,31/31/2010 8:26,2.55,17850,United Kingdom",
}


def small_blocks(block_bytes: int) -> Callable[[], Limits]:
    """An `ingest_limits` that reads the file in blocks of `block_bytes`: many chunks from a small file."""
    limits = dataclasses.replace(services.ingest_limits(), block_bytes=block_bytes)
    return lambda: limits


@pytest.fixture
def mixed_csv(tmp_path: Path, demo_frames) -> Path:
    """The demo file with bad lines, a quoted line and repeats spread over it (latin-1)."""
    lines = demo_frames[0].to_csv(index=False, lineterminator="\n").splitlines()
    for index, text in BAD_LINES.items():
        lines[index] = text
    lines += lines[100:140] + lines[2500:2510]  # repeats of earlier lines, in later chunks
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


def stored_rows() -> dict[str, list[tuple]]:
    """Every loaded row, without the ids and batch that differ from one load to the next."""
    return {
        "transactions": list(
            Transaction.objects.order_by("id").values_list(
                "invoice_no", "stock_code", "description", "quantity", "invoice_date", "unit_price",
                "customer_id", "country", "is_cancellation", "line_number", "fingerprint",
            )
        ),
        "quarantined": list(QuarantinedRow.objects.order_by("id").values_list("line_number", "raw", "reason")),
        "customers": list(Customer.objects.order_by("customer_id").values_list()),
        "counts": list(
            ImportBatch.objects.order_by("id").values_list(
                "rows_read", "rows_loaded", "rows_duplicate", "rows_existing", "rows_quarantined",
                "rows_without_customer",
            )
        ),
    }  # fmt: skip


def clear_tables() -> None:
    for model in (Transaction, QuarantinedRow, Customer, ImportBatch):
        model.objects.all().delete()


def test_a_file_of_many_chunks_loads_as_one_chunk(mixed_csv: Path, monkeypatch) -> None:
    ingest_file(mixed_csv)
    whole = stored_rows()
    clear_tables()
    monkeypatch.setattr(services, "ingest_limits", small_blocks(8 * 1024))

    ingest_file(mixed_csv)

    assert stored_rows() == whole
    assert whole["counts"][0][1] > 2_000 and len(whole["quarantined"]) == 3  # the quoted line loads
    assert whole["counts"][0][2] >= 50  # repeats across chunks are duplicates


def test_a_file_of_many_chunks_on_top_of_a_partial_load(tmp_path: Path, mixed_csv: Path, monkeypatch) -> None:
    first = tmp_path / "first.csv"
    first.write_bytes(b"".join(mixed_csv.read_bytes().splitlines(keepends=True)[:1200]))
    ingest_file(first)
    ingest_file(mixed_csv)
    whole = stored_rows()
    clear_tables()
    monkeypatch.setattr(services, "ingest_limits", small_blocks(4 * 1024))

    ingest_file(first)
    ingest_file(mixed_csv)

    assert stored_rows() == whole
    assert whole["counts"][1][3] > 1_000  # the second load found the first one's rows


@pytest.mark.parametrize("forked", [True, False], ids=["child process", "worker thread"])
def test_an_error_cleaning_a_later_chunk_fails_the_batch_and_stops_the_planner(
    mixed_csv: Path, tmp_path: Path, monkeypatch, forked: bool
) -> None:
    threads_before = threading.active_count()
    cleaned_in = tmp_path / "cleaned_in.txt"  # the planner may be another process: it notes where it ran
    clean_rows = load_plan.clean_rows

    def fail_on_third_chunk(raw):
        with cleaned_in.open("a") as notes:
            notes.write(f"{os.getpid()} {threading.current_thread().name}\n")
        if len(cleaned_in.read_text().splitlines()) == 3:
            raise ValueError("cleaning failed")
        return clean_rows(raw)

    monkeypatch.setattr(services, "ingest_limits", small_blocks(16 * 1024))
    monkeypatch.setattr(load_plan, "clean_rows", fail_on_third_chunk)
    if not forked:
        monkeypatch.setattr(ahead_process, "can_fork_children", lambda: False)

    with pytest.raises(ValueError, match="cleaning failed"):
        ingest_file(mixed_csv)

    planners = set(cleaned_in.read_text().splitlines())
    assert len(cleaned_in.read_text().splitlines()) == 3  # the planner stopped at the error
    assert len(planners) == 1
    pid, thread = planners.pop().split()
    assert (int(pid) != os.getpid()) == forked and (thread == "ingest-plan") == (not forked)
    assert threading.active_count() == threads_before and not multiprocessing.active_children()
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED and "cleaning failed" in batch.error
    assert Transaction.objects.count() == QuarantinedRow.objects.count() == Customer.objects.count() == 0


def test_an_interrupted_write_stops_the_worker_and_writes_nothing(mixed_csv: Path, monkeypatch) -> None:
    threads_before = threading.active_count()
    insert = services.bulk_insert_frame
    writes: list[int] = []

    def interrupt_second_write(model, frame, **options):
        writes.append(len(frame))
        if len(writes) == 2:
            raise KeyboardInterrupt
        return insert(model, frame, **options)

    monkeypatch.setattr(services, "ingest_limits", small_blocks(16 * 1024))
    monkeypatch.setattr(services, "bulk_insert_frame", interrupt_second_write)

    with pytest.raises(KeyboardInterrupt):
        ingest_file(mixed_csv)

    assert threading.active_count() == threads_before and not multiprocessing.active_children()
    assert ImportBatch.objects.get().status == ImportBatch.Status.FAILED
    assert Transaction.objects.count() == QuarantinedRow.objects.count() == 0
    monkeypatch.undo()
    assert ingest_file(mixed_csv).batch.rows_loaded == Transaction.objects.count() > 0
