"""Ingest: round trip of generated data, re-ingest, quarantine, refusals, atomicity."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.conftest import write_csv
from transactions import services
from transactions.models import Customer, ImportBatch, QuarantinedRow, Transaction
from transactions.services import ingest_file

pytestmark = pytest.mark.django_db
MANAGE = Path(__file__).resolve().parents[2] / "manage.py"


def test_demo_file_round_trips_through_ingest(demo_csv: Path, demo_frames) -> None:
    frame = demo_frames[0]
    outcome = ingest_file(demo_csv)

    unique = frame.drop_duplicates()
    batch = outcome.batch
    assert batch.status == ImportBatch.Status.COMPLETED
    assert batch.rows_read == len(frame)
    assert batch.rows_duplicate == len(frame) - len(unique)
    assert batch.rows_loaded == len(unique) == Transaction.objects.count()
    assert batch.rows_without_customer == (unique["CustomerID"] == "").sum()
    assert batch.rows_quarantined == 0
    assert Customer.objects.count() == unique.loc[unique["CustomerID"] != "", "CustomerID"].nunique()

    first = frame.iloc[0]
    stored = Transaction.objects.filter(line_number=2).get()
    assert stored.invoice_no == first["InvoiceNo"]
    assert stored.quantity == int(first["Quantity"])
    assert float(stored.unit_price) == pytest.approx(float(first["UnitPrice"]))
    assert timezone.localtime(stored.invoice_date).strftime("%-m/%-d/%Y %-H:%M") == first["InvoiceDate"]
    cancellations = unique["InvoiceNo"].str.startswith("C").sum()
    assert Transaction.objects.filter(is_cancellation=True).count() == cancellations > 0


def test_non_ascii_descriptions_survive_latin1(tmp_path: Path, demo_frames) -> None:
    frame = demo_frames[0].head(50).copy()
    frame.loc[frame.index[0], "Description"] = "CAFÉ CRÈME SIGN"
    ingest_file(write_csv(tmp_path / "accents.csv", frame))
    assert Transaction.objects.filter(description="CAFÉ CRÈME SIGN").count() == 1


def test_utf8_file_is_read_as_utf8(tmp_path: Path, demo_frames) -> None:
    frame = demo_frames[0].head(50).copy()
    frame.loc[frame.index[0], "Description"] = "CAFÉ SIGN"
    path = tmp_path / "utf8.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    ingest_file(path)
    assert Transaction.objects.filter(description="CAFÉ SIGN").count() == 1


def test_gzip_file_is_read(tmp_path: Path, demo_csv: Path) -> None:
    gz = tmp_path / "data.csv.gz"
    gz.write_bytes(gzip.compress(demo_csv.read_bytes()))
    assert ingest_file(gz).batch.rows_loaded == Transaction.objects.count() > 0


def test_reingest_adds_no_duplicates(demo_csv: Path, capsys) -> None:
    first = ingest_file(demo_csv)
    count = Transaction.objects.count()

    again = ingest_file(demo_csv)
    assert again.already_ingested and again.rows_added == 0
    forced = ingest_file(demo_csv, force=True)
    assert forced.batch.rows_loaded == 0
    assert forced.batch.rows_existing == first.batch.rows_loaded
    assert Transaction.objects.count() == count

    call_command("ingest_csv", str(demo_csv))
    assert "0 rows added" in capsys.readouterr().out


def test_update_file_loads_only_new_invoices(tmp_path: Path, demo_frames) -> None:
    frame = demo_frames[0].drop_duplicates()
    cut = len(frame) // 2
    ingest_file(write_csv(tmp_path / "part1.csv", frame.iloc[:cut]))
    outcome = ingest_file(write_csv(tmp_path / "all.csv", frame))
    assert outcome.batch.rows_loaded == len(frame) - cut
    assert outcome.batch.rows_existing == cut
    assert Transaction.objects.count() == len(frame)


MALFORMED = {
    # line index in the data (0-based) -> (replacement text, expected reason fragment)
    3: ("536999,85123A,HOLDER,6,13/45/2010 8:26,2.55,17850,United Kingdom", "InvoiceDate '13/45/2010 8:26'"),
    7: ("536999,85123A,HOLDER,six,12/1/2010 8:26,2.55,17850,United Kingdom", "Quantity 'six'"),
    11: ("536999,85123A,HOLDER,6,12/1/2010 8:26,abc,17850,United Kingdom", "UnitPrice 'abc'"),
    15: ("536999,85123A,HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom,extra", "wrong number of fields"),
    19: ("536999,85123A,HOLDER,6,12/1/2010 8:26", "wrong number of fields"),
    23: (",85123A,HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom", "missing InvoiceNo"),
    27: ("536999,85123A,HOLDER,6,12/1/2010 8:26,2.55,ABC,United Kingdom", "CustomerID 'ABC'"),
    31: ("536999,85123A,HOLDER,1.5,12/1/2010 8:26,2.55,17850,United Kingdom", "Quantity '1.5'"),
    35: ("536999,,HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom", "missing StockCode"),
    39: ("536999,85123A,HOLDER,6,,2.55,17850,", "missing InvoiceDate"),
}


def test_malformed_lines_are_quarantined_and_good_lines_load(tmp_path: Path, demo_frames) -> None:
    frame = demo_frames[0].drop_duplicates().head(200)
    lines = frame.to_csv(index=False, lineterminator="\n").splitlines()
    for index, (text, _reason) in MALFORMED.items():
        lines[index + 1] = text
    path = tmp_path / "malformed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")

    batch = ingest_file(path).batch

    assert batch.rows_read == 200
    assert batch.rows_quarantined == len(MALFORMED) == QuarantinedRow.objects.count()
    assert Transaction.objects.count() == 200 - len(MALFORMED)
    for index, (text, reason) in MALFORMED.items():
        row = QuarantinedRow.objects.get(line_number=index + 2)
        assert row.raw == text
        assert reason in row.reason, (row.reason, reason)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Invoice,Stock,Qty\n1,2,3\n", "wrong header"),
        (
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n".encode("utf-16"),
            "UTF-16",
        ),
        (b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n", "no rows"),
        (b"", "empty"),
    ],
)
def test_unreadable_file_is_refused_and_writes_nothing(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)

    with pytest.raises(CommandError, match=message) as refused:
        call_command("ingest_csv", str(path))

    assert refused.value.returncode == 1
    assert "\n" not in str(refused.value)
    assert ImportBatch.objects.count() == Transaction.objects.count() == 0


def test_wrong_header_exits_1_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"Invoice,Stock,Qty\n1,2,3\n")
    database = tmp_path / "untouched.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "DJANGO_SETTINGS_MODULE": "anomaly_site.settings"}

    done = subprocess.run(
        [sys.executable, str(MANAGE), "ingest_csv", str(path)], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "CommandError: ingest_csv: wrong header 'Invoice,Stock,Qty': expected "
        "'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country'"
    ]
    assert not database.exists()  # the database was never even opened


def test_interrupted_batch_leaves_no_partial_rows(demo_csv: Path, monkeypatch) -> None:
    def interrupt(customer_ids, **kwargs):
        assert Transaction.objects.exists()  # rows were written inside the batch's transaction
        raise KeyboardInterrupt

    monkeypatch.setattr(services, "refresh_customers", interrupt)
    with pytest.raises(KeyboardInterrupt):
        ingest_file(demo_csv)

    assert Transaction.objects.count() == 0
    assert Customer.objects.count() == 0
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED
    assert "KeyboardInterrupt" in batch.error
    monkeypatch.undo()
    assert ingest_file(demo_csv).batch.rows_loaded == Transaction.objects.count() > 0


def customer_rows() -> list[tuple]:
    return list(Customer.objects.order_by("customer_id").values_list())


def test_customers_of_a_load_into_an_empty_table_come_from_the_loaded_rows(
    tmp_path: Path, demo_frames, monkeypatch
) -> None:
    frame = demo_frames[0].copy()
    # One customer buying from two countries: the usual country and the counts span both.
    customer = frame.loc[frame["CustomerID"] != "", "CustomerID"].iloc[0]
    moved = frame.index[frame["CustomerID"] == customer][:3]
    frame.loc[moved, "Country"] = "Zimbabwe"
    read_back = []
    monkeypatch.setattr(services, "_stored_aggregates", lambda ids: read_back.append(ids))

    ingest_file(write_csv(tmp_path / "first.csv", frame))

    assert read_back == []  # nothing aggregated from the table
    loaded = customer_rows()
    monkeypatch.undo()
    Customer.objects.update(country="", invoice_count=0, line_count=0)
    services.refresh_customers(Transaction.objects.exclude(customer=None).values_list("customer_id", flat=True))
    assert customer_rows() == loaded  # the same rows as aggregated from the table
    moved_customer = Customer.objects.get(customer_id=int(float(customer)))
    assert moved_customer.line_count == Transaction.objects.filter(customer=moved_customer).count() > 3


def test_customers_of_a_load_into_a_table_with_rows_are_read_back(tmp_path: Path, demo_frames) -> None:
    frame = demo_frames[0].drop_duplicates()
    cut = len(frame) // 2
    ingest_file(write_csv(tmp_path / "part1.csv", frame.iloc[:cut]))
    ingest_file(write_csv(tmp_path / "all.csv", frame))
    loaded = customer_rows()

    Customer.objects.update(country="", invoice_count=0, line_count=0)
    services.refresh_customers(Transaction.objects.exclude(customer=None).values_list("customer_id", flat=True))
    assert customer_rows() == loaded


@pytest.mark.slow
def test_real_file_counts(real_data_path: Path) -> None:
    batch = ingest_file(real_data_path).batch

    assert batch.rows_read == 541_909
    assert batch.rows_quarantined == 0
    assert batch.rows_duplicate == 5_268
    assert batch.rows_loaded == 536_641
    assert Transaction.objects.filter(customer__isnull=False).count() == 401_604
    assert Customer.objects.count() == 4_372
    assert pd.Series(list(Customer.objects.values_list("country", flat=True))).nunique() > 30
