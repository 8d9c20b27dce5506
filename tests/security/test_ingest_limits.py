"""Ingest of hostile and malformed files: every line accounted for, bombs refused in bounded memory."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from transactions import load_plan, uploads
from transactions.models import ImportBatch, QuarantinedRow, Transaction
from transactions.services import IngestAccountingError, ingest_file
from transactions.source import SourceError

pytestmark = pytest.mark.django_db
MANAGE = Path(__file__).resolve().parents[2] / "manage.py"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
GOOD = "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom"
MiB = 1024 * 1024


def write_lines(path: Path, lines: list[str], *, encoding: str = "latin-1") -> Path:
    path.write_bytes(("\n".join([HEADER, *lines]) + "\n").encode(encoding))
    return path


def good_line(n: int) -> str:
    return f"5{n:05d},85123A,HOLDER {n},6,12/1/2010 8:26,2.55,17850,United Kingdom"


def quarantined() -> dict[int, tuple[str, str]]:
    return {row.line_number: (row.raw, row.reason) for row in QuarantinedRow.objects.all()}


def assert_adds_up(batch: ImportBatch) -> None:
    accounted = batch.rows_loaded + batch.rows_duplicate + batch.rows_existing + batch.rows_quarantined
    assert accounted == batch.rows_read


def test_every_bad_line_reported_in_one_pandas_warning_is_quarantined(tmp_path: Path) -> None:
    lines = [good_line(1), good_line(2) + ",x", good_line(3) + ",x", good_line(4), good_line(5) + ",x,y"]
    batch = ingest_file(write_lines(tmp_path / "bad.csv", lines)).batch

    assert (batch.rows_read, batch.rows_loaded, batch.rows_quarantined) == (5, 2, 3)
    assert sorted(Transaction.objects.values_list("line_number", flat=True)) == [2, 5]
    rows = quarantined()
    assert sorted(rows) == [3, 4, 6]
    assert rows[6] == (lines[4], "wrong number of fields: expected 8 fields, saw 10")
    assert_adds_up(batch)


def test_lines_that_do_not_add_up_fail_the_batch_and_write_nothing(tmp_path: Path, monkeypatch) -> None:
    real_clean_rows = load_plan.clean_rows

    def lose_a_row(raw: pd.DataFrame):
        return real_clean_rows(raw.iloc[1:])  # a row vanishes without a reason

    monkeypatch.setattr(load_plan, "clean_rows", lose_a_row)
    path = write_lines(tmp_path / "data.csv", [good_line(n) for n in range(10)] + [good_line(1) + ",x"])

    with pytest.raises(IngestAccountingError, match="11 lines read but 10 accounted for"):
        ingest_file(path)

    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED and "IngestAccountingError" in batch.error
    assert Transaction.objects.count() == QuarantinedRow.objects.count() == 0
    with pytest.raises(CommandError, match="lines read but"):
        call_command("ingest_csv", str(path))


def test_first_row_with_extra_fields_is_quarantined_and_the_rest_load_unshifted(tmp_path: Path, demo_frames) -> None:
    frame = demo_frames[0].drop_duplicates().head(100)
    lines = frame.to_csv(index=False, header=False, lineterminator="\n").splitlines()
    lines[0] += ",extra,fields"
    batch = ingest_file(write_lines(tmp_path / "shifted.csv", lines)).batch

    assert (batch.rows_read, batch.rows_loaded, batch.rows_quarantined) == (100, 99, 1)
    assert quarantined() == {2: (lines[0], "wrong number of fields: expected 8 fields, saw 10")}
    second = frame.iloc[1]
    stored = Transaction.objects.get(line_number=3)
    assert (stored.invoice_no, stored.stock_code, stored.quantity, stored.country) == (
        second["InvoiceNo"],
        second["StockCode"],
        int(second["Quantity"]),
        second["Country"],
    )


@pytest.mark.parametrize("position", [5, 2_000], ids=["in-the-first-64KiB", "after-the-first-64KiB"])
def test_a_nul_byte_anywhere_quarantines_its_row_only(tmp_path: Path, position: int) -> None:
    lines = [good_line(n) for n in range(2_500)]
    lines[position] = lines[position].replace("HOLDER", "HOL\x00DER")
    batch = ingest_file(write_lines(tmp_path / "nul.csv", lines)).batch

    assert (batch.rows_read, batch.rows_loaded, batch.rows_quarantined) == (2_500, 2_499, 1)
    raw, reason = quarantined()[position + 2]
    assert "NUL" in reason
    assert "\x00" not in raw and raw == lines[position].replace("\x00", "\ufffd")  # PostgreSQL refuses NUL in text
    assert not any("\x00" in text for text in Transaction.objects.values_list("description", flat=True))


MIXED = {
    # data line index -> (text, reason fragment); line index 0 is the first data row.
    0: (good_line(0) + ",extra", "wrong number of fields: expected 8 fields, saw 9"),
    3: (good_line(3) + ",x,y,z", "wrong number of fields: expected 8 fields, saw 11"),
    5: ("536999,85123A,HOLDER,6,12/1/2010 8:26", "wrong number of fields: expected 8 fields, saw 5"),
    7: (good_line(7).replace("HOLDER", "HOL\x00DER"), "NUL byte"),
    9: (good_line(9).replace("12/1/2010", "13/45/2010"), "InvoiceDate '13/45/2010 8:26'"),
    11: (good_line(11).replace(",2.55,", ",2.5.5,"), "UnitPrice '2.5.5'"),
    13: (good_line(13).replace("HOLDER 13", "X" * 300), "Description longer than 255 characters"),
    15: (good_line(15).replace("HOLDER", '"HOLDER'), "unbalanced quote"),
    17: (good_line(17).replace(",6,", ",six,"), "Quantity 'six'"),
    19: (",".join(str(n) for n in range(70)), "more than 64 fields"),
}


def test_a_file_malformed_in_many_ways_loads_every_good_row_and_quarantines_every_bad_one(tmp_path: Path) -> None:
    lines = [good_line(n) for n in range(40)]
    for index, (text, _reason) in MIXED.items():
        lines[index] = text
    lines[21] = good_line(2)  # an exact duplicate of line index 2
    lines[23] = '536365,"85123A","HOLDER, RED",6,12/1/2010 8:26,2.55,17850,United Kingdom'  # quoted comma: good
    lines.insert(30, "")  # a blank line: not a data line
    lines.insert(31, "   \r")
    path = tmp_path / "mixed.csv"
    path.write_bytes(("\r\n".join([HEADER, *lines]) + "\r\n").encode("latin-1"))
    ingest_file(write_lines(tmp_path / "earlier.csv", [good_line(25)]))  # line 27 is already loaded

    batch = ingest_file(path).batch

    assert batch.rows_read == 40
    assert batch.rows_quarantined == len(MIXED)
    assert (batch.rows_duplicate, batch.rows_existing) == (1, 1)
    assert batch.rows_loaded == 40 - len(MIXED) - 2 == Transaction.objects.filter(batch=batch).count()
    assert_adds_up(batch)
    rows = quarantined()
    assert sorted(rows) == sorted(index + 2 for index in MIXED)
    for index, (text, reason) in MIXED.items():
        raw, stored_reason = rows[index + 2]
        assert raw == text.replace("\x00", "\ufffd")
        assert reason in stored_reason, (index, stored_reason)
    assert Transaction.objects.filter(batch=batch, line_number=25, description="HOLDER, RED").exists()
    # Lines 32 and 33 are blank, so the last ten data lines are lines 34 to 43; line 23 is the duplicate.
    loaded = set(Transaction.objects.filter(batch=batch).values_list("line_number", flat=True))
    assert loaded == ({n + 2 for n in range(30)} - {n + 2 for n in MIXED} - {23, 27}) | set(range(34, 44))


def test_a_long_line_of_commas_is_quarantined_cheaply_when_the_line_limit_allows_it(tmp_path: Path, settings) -> None:
    settings.INGEST_MAX_LINE_BYTES = 4 * MiB
    path = write_lines(tmp_path / "commas.csv", [good_line(1), "," * (2 * MiB), good_line(2)])

    started = time.perf_counter()
    batch = ingest_file(path).batch

    assert time.perf_counter() - started < 5
    assert (batch.rows_read, batch.rows_loaded, batch.rows_quarantined) == (3, 2, 1)
    assert quarantined()[3][1] == "more than 64 fields (INGEST_MAX_FIELDS)"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("INGEST_MAX_LINE_BYTES", 100, "line 3 is longer than 100 bytes"),
        ("INGEST_MAX_DECOMPRESSED_BYTES", 1_000, "more than 1,000 bytes of data"),
    ],
)
def test_a_file_over_a_limit_is_refused_with_one_line_and_writes_nothing(
    tmp_path: Path, settings, setting: str, value: int, message: str
) -> None:
    setattr(settings, setting, value)
    path = write_lines(tmp_path / "data.csv", [good_line(n) for n in range(50)])
    path.write_bytes(path.read_bytes().replace(good_line(1).encode(), good_line(1).encode() * 2))

    with pytest.raises(CommandError, match=message) as refused:
        call_command("ingest_csv", str(path))

    assert "\n" not in str(refused.value)
    assert ImportBatch.objects.count() == Transaction.objects.count() == 0


def test_a_gzip_inflating_far_more_than_data_does_is_refused(tmp_path: Path, settings) -> None:
    settings.INGEST_MAX_COMPRESSION_RATIO = 20
    path = tmp_path / "repetitive.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([HEADER] + [good_line(1)] * 300_000) + "\n").encode()))

    with pytest.raises(SourceError, match=r"the gzip inflates .* times"):
        ingest_file(path)
    assert ImportBatch.objects.count() == 0


def test_a_failed_ingest_job_removes_its_upload(settings, tmp_path: Path) -> None:
    settings.UPLOADS_DIR = tmp_path / "uploads"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    lines = [good_line(n) for n in range(20)]
    lines[10] = "x" * 70_000  # a line over the limit: the upload passes its check, the ingest refuses it
    content = ("\n".join([HEADER, *lines]) + "\n").encode()

    job = uploads.queue_ingest(SimpleUploadedFile("data.csv", content))

    job.refresh_from_db()
    assert job.status == uploads.BackgroundJob.Status.FAILED and "longer than 65,536 bytes" in job.error
    assert not any(Path(settings.UPLOADS_DIR).iterdir())


def test_an_upload_that_cannot_be_queued_is_removed(settings, tmp_path: Path, monkeypatch) -> None:
    settings.UPLOADS_DIR = tmp_path / "uploads"

    def refuse(job, func, *args):
        raise uploads.UploadError("the queue refused the job")

    monkeypatch.setattr(uploads.jobs, "enqueue", refuse)  # the job module uploads queues through
    content = ("\n".join([HEADER, GOOD]) + "\n").encode()
    with pytest.raises(uploads.UploadError):
        uploads.queue_ingest(SimpleUploadedFile("data.csv", content))

    assert not any(Path(settings.UPLOADS_DIR).iterdir())


# Resource bombs, each ingested by `manage.py ingest_csv` in a child process whose peak RSS is measured.

GiB = 1024 * MiB
PEAK_RSS_LIMIT = GiB


def gzip_of(path: Path, header: bytes, payload: bytes, total: int) -> Path:
    """Write a gzip of `header` then `payload` repeated to `total` bytes, compressing `payload` once.

    Concatenated gzip members are one stream to a reader, so the test stays light.
    """
    member = gzip.compress(payload, compresslevel=9)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(header))
        for _ in range(total // len(payload)):
            handle.write(member)
    return path


# Runs the command as a child of this small process and prints the child's rusage. Linux carries a
# process's peak RSS across fork and exec, so a child started straight from pytest (gigabytes once
# TensorFlow and the test data are loaded) would report pytest's peak, not its own.
TRAMPOLINE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


def run_ingest(path: Path, tmp_path: Path) -> tuple[int, str, float, float]:
    """Return the exit code, stderr, peak RSS in bytes and CPU seconds of `manage.py ingest_csv path`.

    CPU rather than wall-clock time, so that a busy machine does not fail the test; Django's own
    start-up is most of it.
    """
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bomb.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "anomaly_site.settings",
    }
    with open(tmp_path / "stderr", "w+") as stderr:
        result = subprocess.run(
            [sys.executable, "-c", TRAMPOLINE, str(MANAGE), "ingest_csv", str(path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            check=True,
        )
        code, max_rss_kib, cpu_seconds = result.stdout.split()[-3:]
        stderr.seek(0)
        return int(code), stderr.read(), int(max_rss_kib) * 1024, float(cpu_seconds)


BOMBS = {
    "1GiB-of-zeros": (b"\x00" * MiB, GiB, "line 2 is longer than 65,536 bytes"),
    "1GiB-of-comma-lines": ((b"," * 63 + b"\n") * (MiB // 64), GiB, "the gzip inflates"),
    "one-1.5GiB-line": (b"A" * MiB, 3 * GiB // 2, "line 2 is longer than 65,536 bytes"),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_gzip_bomb_is_refused_quickly_in_bounded_memory(tmp_path: Path, bomb: str) -> None:
    payload, total, message = BOMBS[bomb]
    path = gzip_of(tmp_path / f"{bomb}.csv.gz", HEADER.encode() + b"\n", payload, total)
    assert path.stat().st_size < 10 * MiB

    code, stderr, peak, seconds = run_ingest(path, tmp_path)

    assert code == 1
    assert len(stderr.strip().splitlines()) == 1 and message in stderr, stderr[-2000:]
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / MiB:.0f} MiB"
    assert seconds < 30, f"{seconds:.0f} CPU seconds"
    print(f"{bomb}: refused in {seconds:.1f} CPU seconds, peak RSS {peak / MiB:.0f} MiB")


def test_a_2mb_line_of_commas_is_refused_quickly_in_bounded_memory(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "commas.csv", [GOOD, "," * (2 * MiB), GOOD])

    code, stderr, peak, seconds = run_ingest(path, tmp_path)

    assert code == 1
    assert stderr.strip().splitlines() == [
        "CommandError: ingest_csv: commas.csv: line 3 is longer than 65,536 bytes (INGEST_MAX_LINE_BYTES)"
    ]
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / MiB:.0f} MiB"
    assert seconds < 30, f"{seconds:.0f} CPU seconds"
