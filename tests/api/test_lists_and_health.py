"""/api/transactions/ (filters, ordering, cursor pages) and /api/models."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from detection.models import ModelVersion, TransactionScore

pytestmark = pytest.mark.django_db


def all_pages(client, url: str) -> list[dict]:
    rows, pages = [], 0
    while url:
        payload = client.get(url).json()
        rows.extend(payload["results"])
        url, pages = payload["next"], pages + 1
        assert pages < 100
    return rows


def test_cursor_pages_walk_every_row_once_in_order(trained_version, api) -> None:
    rows = all_pages(api, "/api/transactions/?page_size=500")

    scored = TransactionScore.objects.filter(model_version=trained_version)
    assert len(rows) == scored.count() > 1000
    assert len({row["transaction_id"] for row in rows}) == len(rows)
    scores = [row["anomaly_score"] for row in rows]
    assert scores == sorted(scores, reverse=True)


def test_previous_link_returns_the_page_before(trained_version, api) -> None:
    first = api.get("/api/transactions/?page_size=7").json()
    second = api.get(first["next"]).json()
    back = api.get(second["previous"]).json()

    assert first["previous"] is None
    assert [row["transaction_id"] for row in back["results"]] == [row["transaction_id"] for row in first["results"]]


def test_filters_combine(trained_version, api) -> None:
    sample = TransactionScore.objects.filter(is_flagged=True).order_by("id").first()
    day = timezone.localtime(sample.invoice_date).date()
    start, end = day - timedelta(days=30), day + timedelta(days=30)
    query = (
        f"customer_id={sample.customer_id}.0&flagged=true&min_score=0.5&country={sample.country}"
        f"&date_from={start}&date_to={end}&page_size=500"
    )

    rows = all_pages(api, f"/api/transactions/?{query}")

    expected = TransactionScore.objects.filter(
        customer_id=sample.customer_id, is_flagged=True, anomaly_score__gte=0.5, country=sample.country
    )
    expected_ids = {
        score.transaction_id for score in expected if start <= timezone.localtime(score.invoice_date).date() <= end
    }
    assert {row["transaction_id"] for row in rows} == expected_ids
    assert sample.transaction_id in expected_ids
    for row in rows:
        assert row["is_flagged"] is True and row["anomaly_score"] >= 0.5 and row["CustomerID"] == sample.customer_id


def test_date_to_includes_the_whole_uk_day(trained_version, api) -> None:
    sample = TransactionScore.objects.order_by("-invoice_date").first()
    day: date = timezone.localtime(sample.invoice_date).date()

    rows = all_pages(api, f"/api/transactions/?date_from={day}&date_to={day}&page_size=500")

    same_day = [s for s in TransactionScore.objects.all() if timezone.localtime(s.invoice_date).date() == day]
    assert {row["transaction_id"] for row in rows} == {s.transaction_id for s in same_day}
    assert sample.transaction_id in {row["transaction_id"] for row in rows}


def test_flagged_false_and_ordering_by_date(trained_version, api) -> None:
    rows = all_pages(api, "/api/transactions/?flagged=false&ordering=invoice_date&page_size=500")

    assert len(rows) == TransactionScore.objects.filter(is_flagged=False).count()
    dates = [datetime.fromisoformat(row["InvoiceDate"]) for row in rows]
    assert dates == sorted(dates) and not any(row["is_flagged"] for row in rows)


def test_models_list_and_detail(trained_version, api) -> None:
    failed = ModelVersion.objects.create(status=ModelVersion.Status.FAILED, error="boom")

    listed = api.get("/api/models").json()
    detail = api.get(f"/api/models/{trained_version.pk}").json()

    assert [item["id"] for item in listed] == [failed.pk, trained_version.pk]
    assert [item["is_active"] for item in listed] == [False, True]
    assert detail["metrics"]["rows"] == trained_version.training_rows
    assert detail["status"] == "active" and "artifacts" not in detail
    assert api.get("/api/models/999999").status_code == 404
