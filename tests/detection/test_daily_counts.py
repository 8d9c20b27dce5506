"""The daily score counts: the charts read the same figures as grouping every score row, and every
write or deletion of score rows keeps them equal to the rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from django.db.models import Count, Q
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from dashboard.figures import anomalies_by_country_figure, anomalies_over_time_figure
from detection.daily_counts import day_spans, local_days, recount_version
from detection.models import DailyScoreCount, ModelVersion, TransactionScore
from detection.realtime import score_rows
from detection.selectors import anomalies_by_country, anomalies_over_time
from detection.services import fail_version, prune_old_versions, write_scores
from transactions.selectors import source_row

pytestmark = pytest.mark.django_db


def grouped_score_rows(version: ModelVersion, period: str) -> list[dict]:
    """The over-time rows as computed before the counts existed: every score row grouped in SQL."""
    trunc = TruncWeek if period == "week" else TruncDay
    return list(
        TransactionScore.objects.filter(model_version=version)
        .annotate(period=trunc("invoice_date"))
        .values("period")
        .annotate(
            rows=Count("id"),
            flagged=Count("id", filter=Q(is_flagged=True)),
            common=Count("id", filter=Q(is_common_anomaly=True)),
        )
        .order_by("period")
    )


def grouped_by_country(version: ModelVersion) -> list[dict]:
    return list(
        TransactionScore.objects.filter(model_version=version)
        .values("country")
        .annotate(
            rows=Count("id"),
            flagged=Count("id", filter=Q(is_flagged=True)),
            common=Count("id", filter=Q(is_common_anomaly=True)),
        )
        .order_by("-flagged", "country")
    )


def counts_from_rows(version: ModelVersion) -> pd.DataFrame:
    """Per (local day, country) counts computed in pandas from the score rows, sorted."""
    rows = pd.DataFrame.from_records(
        TransactionScore.objects.filter(model_version=version).values(
            "invoice_date", "country", "is_flagged", "is_common_anomaly", "iso_forest_flag", "autoencoder_flag"
        )
    )
    rows["day"] = pd.to_datetime(rows["invoice_date"], utc=True).dt.tz_convert("Europe/London").dt.date
    grouped = rows.groupby(["day", "country"]).agg(
        scored=("is_flagged", "size"),
        flagged=("is_flagged", "sum"),
        common=("is_common_anomaly", "sum"),
        iso_forest_flagged=("iso_forest_flag", "sum"),
        autoencoder_flagged=("autoencoder_flag", "sum"),
    )
    return grouped.reset_index().astype(dict.fromkeys(grouped.columns, "int64"))


def stored_counts(version: ModelVersion) -> pd.DataFrame:
    stored = pd.DataFrame.from_records(
        DailyScoreCount.objects.filter(model_version=version)
        .order_by("day", "country")
        .values("day", "country", "scored", "flagged", "common", "iso_forest_flagged", "autoencoder_flagged")
    )
    return stored.astype({name: "int64" for name in stored.columns if name not in ("day", "country")})


def assert_counts_match_rows(version: ModelVersion) -> None:
    pd.testing.assert_frame_equal(stored_counts(version), counts_from_rows(version))


@pytest.fixture
def version_across_midnights(trained_version: ModelVersion) -> ModelVersion:
    """The trained version with some rows moved just after local midnight in summer and in winter
    (22:30 / 23:30 UTC: the next day in UK summer time, the same day in winter), then recounted."""
    scores = TransactionScore.objects.filter(model_version=trained_version).order_by("id")
    moves = {
        datetime(2011, 6, 30, 23, 30, tzinfo=UTC): list(
            scores.filter(is_flagged=True).values_list("id", flat=True)[:5]
        ),
        datetime(2011, 6, 30, 22, 30, tzinfo=UTC): list(scores.values_list("id", flat=True)[10:20]),
        datetime(2010, 12, 31, 23, 30, tzinfo=UTC): list(scores.values_list("id", flat=True)[20:30]),
        datetime(2011, 3, 27, 0, 30, tzinfo=UTC): list(scores.values_list("id", flat=True)[30:40]),  # clocks go forward
    }
    for when, ids in moves.items():
        TransactionScore.objects.filter(id__in=ids).update(invoice_date=when)
    recount_version(trained_version)
    return trained_version


def test_training_stores_counts_equal_to_its_score_rows(trained_version: ModelVersion) -> None:
    assert DailyScoreCount.objects.filter(model_version=trained_version).count() > 10
    assert_counts_match_rows(trained_version)


@pytest.mark.parametrize("period", ["week", "day"])
def test_over_time_rows_and_figure_equal_grouping_every_score_row(version_across_midnights, period: str) -> None:
    expected = grouped_score_rows(version_across_midnights, period)
    rows = anomalies_over_time(period=period, version=version_across_midnights)
    assert rows == expected
    assert [row["period"].utcoffset() for row in rows] == [row["period"].utcoffset() for row in expected]
    assert sum(row["flagged"] for row in rows) > 0
    assert anomalies_over_time_figure(rows, period).to_json() == anomalies_over_time_figure(expected, period).to_json()


def test_by_country_rows_and_figure_equal_grouping_every_score_row(version_across_midnights) -> None:
    expected = grouped_by_country(version_across_midnights)
    rows = anomalies_by_country(version=version_across_midnights)
    assert rows == expected and len(rows) > 1
    assert anomalies_by_country_figure(rows).to_json() == anomalies_by_country_figure(expected).to_json()


def test_counts_match_rows_across_local_midnights(version_across_midnights) -> None:
    assert_counts_match_rows(version_across_midnights)
    summer = DailyScoreCount.objects.filter(model_version=version_across_midnights, day="2011-07-01")
    assert sum(summer.values_list("flagged", flat=True)) >= 5


def test_writing_new_rows_keeps_other_days_and_a_retried_chunk_counts_once(trained_version) -> None:
    version = trained_version
    moved = list(
        TransactionScore.objects.filter(model_version=version).order_by("id").values_list("id", flat=True)[:40]
    )
    frame = pd.DataFrame.from_records(TransactionScore.objects.filter(id__in=moved).values())
    TransactionScore.objects.filter(id__in=moved).delete()
    untouched = DailyScoreCount.objects.filter(model_version=version).exclude(
        day__in=local_days(frame["invoice_date"]).tolist()
    )
    before = {(row.day, row.country): row.scored for row in untouched}

    frame = frame.drop(columns=["id", "model_version_id"])
    write_scores(version, frame)
    write_scores(version, frame, ignore_conflicts=True)  # the same chunk again: nothing new

    assert_counts_match_rows(version)
    after = DailyScoreCount.objects.filter(model_version=version)
    assert {(row.day, row.country): row.scored for row in after if (row.day, row.country) in before} == before


def test_rows_stored_by_the_score_api_are_counted(trained_version) -> None:
    score = TransactionScore.objects.filter(model_version=trained_version).select_related("transaction").first()
    record = {**source_row(score.transaction), "InvoiceNo": "T999001", "Quantity": "50000"}
    on_that_day = {"model_version": trained_version, "day": timezone.localtime(score.invoice_date).date()}
    before = DailyScoreCount.objects.get(**on_that_day, country=score.country).scored

    score_rows([record], version=trained_version, store=True)

    assert DailyScoreCount.objects.get(**on_that_day, country=score.country).scored == before + 1
    assert_counts_match_rows(trained_version)


def test_failing_or_pruning_a_version_deletes_its_counts(trained_version) -> None:
    other = ModelVersion.objects.create(status=ModelVersion.Status.TRAINING)
    rows = pd.DataFrame.from_records(TransactionScore.objects.filter(model_version=trained_version).values()[:30])
    write_scores(other, rows.drop(columns=["id", "model_version_id"]))
    assert DailyScoreCount.objects.filter(model_version=other).exists()

    fail_version(other.pk, "broken")
    assert not DailyScoreCount.objects.filter(model_version=other).exists()

    retired = ModelVersion.objects.create(status=ModelVersion.Status.RETIRED)
    write_scores(retired, rows.drop(columns=["id", "model_version_id"]))
    prune_old_versions()  # never activated: neither its scores nor its counts are kept
    assert not DailyScoreCount.objects.filter(model_version=retired).exists()
    assert DailyScoreCount.objects.filter(model_version=trained_version).exists()


def test_day_spans_join_consecutive_days() -> None:
    days = local_days(pd.Series(pd.to_datetime(["2011-01-03 10:00", "2011-01-04 23:30", "2011-01-06 09:00"], utc=True)))
    assert [str(day) for day in days] == ["2011-01-03", "2011-01-04", "2011-01-06"]
    assert [(str(a), str(b)) for a, b in day_spans(days)] == [
        ("2011-01-03", "2011-01-04"),
        ("2011-01-06", "2011-01-06"),
    ]
    summer = local_days(pd.Series(pd.to_datetime(["2011-06-30 23:30"], utc=True)))
    assert [str(day) for day in summer] == ["2011-07-01"]


def test_a_first_write_counts_its_rows_from_the_frame_like_the_table(version_across_midnights) -> None:
    rows = pd.DataFrame.from_records(TransactionScore.objects.filter(model_version=version_across_midnights).values())
    fresh = ModelVersion.objects.create(status=ModelVersion.Status.TRAINING)

    write_scores(fresh, rows.drop(columns=["id", "model_version_id"]), first_write=True)

    assert_counts_match_rows(fresh)
    summer = DailyScoreCount.objects.filter(model_version=fresh, day="2011-07-01")
    assert sum(summer.values_list("flagged", flat=True)) >= 5


def test_scores_are_written_in_chunks_and_counted_once(trained_version, monkeypatch) -> None:
    from detection import score_writes

    rows = pd.DataFrame.from_records(TransactionScore.objects.filter(model_version=trained_version).values()[:70])
    fresh = ModelVersion.objects.create(status=ModelVersion.Status.TRAINING)
    sizes, fractions = [], []
    insert = score_writes.bulk_insert_frame

    def counted(model, table, **kwargs):
        sizes.append(len(table))
        return insert(model, table, **kwargs)

    monkeypatch.setattr(score_writes, "WRITE_CHUNK_ROWS", 30)
    monkeypatch.setattr(score_writes, "bulk_insert_frame", counted)
    written = write_scores(fresh, rows.drop(columns=["id", "model_version_id"]), fractions.append, first_write=True)

    assert written == 70 and sizes == [30, 30, 10]
    assert fractions == [30 / 70, 60 / 70, 1.0]
    stored = TransactionScore.objects.filter(model_version=fresh).order_by("transaction_id")
    assert list(stored.values_list("transaction_id", "explanation", "flag_reasons")) == list(
        rows.sort_values("transaction_id")[["transaction_id", "explanation", "flag_reasons"]].itertuples(
            index=False, name=None
        )
    )
    assert_counts_match_rows(fresh)


def test_deleting_transactions_as_the_admin_does_keeps_the_counts_equal_to_the_rows(trained_version) -> None:
    from transactions.models import Transaction

    flagged = TransactionScore.objects.filter(model_version=trained_version, is_flagged=True)
    ids = list(flagged.values_list("transaction_id", flat=True)[:3])
    before = sum(DailyScoreCount.objects.filter(model_version=trained_version).values_list("flagged", flat=True))

    Transaction.objects.filter(pk__in=ids).delete()  # the admin's "delete selected"; scores go by CASCADE
    Transaction.objects.filter(
        pk=TransactionScore.objects.filter(model_version=trained_version).first().transaction_id
    ).get().delete()

    assert_counts_match_rows(trained_version)
    after = sum(DailyScoreCount.objects.filter(model_version=trained_version).values_list("flagged", flat=True))
    assert after <= before - 3
