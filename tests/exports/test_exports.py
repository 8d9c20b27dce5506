"""Exports: who may download, formula neutralisation, CSV and Excel reopened, streaming, the log."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse

from detection.models import ModelVersion, TransactionScore
from detection.selectors import ranked_anomalies
from exports.formats import csv_chunks, neutralised
from exports.models import ExportLog
from tests.conftest import logged_in
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def busiest(version: ModelVersion) -> int:
    return ranked_anomalies(metric="TotalSpent", version=version, limit=1)[0]["customer_id"]


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        (-5, -5),
        (-1.5, -1.5),
    ],
)
def test_text_that_could_start_a_formula_is_neutralised_and_numbers_stay_numbers(value, expected) -> None:
    assert neutralised(value) == expected


def test_csv_is_written_in_chunks_without_reading_every_row_first() -> None:
    def rows():
        for index in range(100_000):
            yield (index, "=1+1")

    chunks = csv_chunks(["n", "text"], rows(), rows_per_chunk=500)
    assert next(chunks).startswith("\ufeffn,text")
    first = next(chunks)
    assert first.count("\n") == 500 and "'=1+1" in first


@pytest.mark.parametrize(
    "url",
    ["/exports/queue.csv", "/exports/drilldown.xlsx?customer=12346", "/exports/customers/12346/transactions.csv"],
)
def test_anonymous_users_are_sent_to_log_in_and_users_without_the_view_permission_get_403(url) -> None:
    assert logged_in(None).get(url).status_code == 302
    plain = User.objects.create_user("plain", password="plain-pass-123")
    assert logged_in(plain).get(url).status_code == 403
    assert not ExportLog.objects.exists()


def test_an_analyst_exports_a_customers_transactions_as_csv_streamed_and_logged(
    trained_version: ModelVersion, analyst, analyst_client
) -> None:
    customer = busiest(trained_version)
    Transaction.objects.filter(customer_id=customer).update(description="=CMD()")

    response = analyst_client.get(f"/exports/customers/{customer}/transactions.csv")

    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == f'attachment; filename="customer-{customer}-transactions.csv"'
    header, *rows = csv_rows(response)
    assert header[:4] == ["TransactionID", "InvoiceNo", "InvoiceDate", "CustomerID"]
    assert len(rows) == TransactionScore.objects.filter(customer_id=customer).count()
    assert {row[3] for row in rows} == {str(customer)}
    assert {row[header.index("Description")] for row in rows} == {"'=CMD()"}
    (log,) = ExportLog.objects.all()
    assert (log.user, log.kind, log.file_format, log.parameters) == (
        analyst,
        "customer_transactions",
        "csv",
        {"customer": customer},
    )


def test_the_drilldown_as_excel_reopens_with_numbers_as_numbers(trained_version: ModelVersion, analyst_client) -> None:
    customer = busiest(trained_version)
    expected = ranked_anomalies(metric="HistFreq", customer_id=customer)

    response = analyst_client.get(f"/exports/drilldown.xlsx?customer={customer}&metric=HistFreq")

    assert response.status_code == 200 and response.streaming
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    header, *rows = list(workbook.active.iter_rows(values_only=True))
    assert header[0] == "TransactionID"
    assert [row[0] for row in rows] == [row["transaction_id"] for row in expected]
    assert all(isinstance(row[header.index("TotalSpent")], float) for row in rows)
    assert ExportLog.objects.get().parameters == {"customer": customer, "metric": "HistFreq"}


def test_the_queue_export_applies_the_admins_filters(trained_version: ModelVersion, admin_client) -> None:
    flagged = TransactionScore.objects.filter(model_version=trained_version, is_common_anomaly=True)

    response = admin_client.get(f"/exports/queue.csv?is_common_anomaly__exact=1&version={trained_version.pk}")

    assert response.status_code == 200
    header, *rows = csv_rows(response)
    assert sorted(int(row[0]) for row in rows) == sorted(flagged.values_list("transaction_id", flat=True))
    assert {row[header.index("FlaggedByBoth")] for row in rows} == {"True"}
    assert ExportLog.objects.get().kind == "queue"
