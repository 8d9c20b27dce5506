"""The monitoring pages under a model version: who may see them, and what they show on hand-built versions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from detection.models import ModelVersion, TransactionScore
from monitoring import comparison
from monitoring.selectors import feature_drift, version_comparison
from tests.conftest import logged_in
from tests.factories import (
    CustomerFactory,
    ImportBatchFactory,
    ModelVersionFactory,
    TransactionFactory,
    TransactionScoreFactory,
)

pytestmark = pytest.mark.django_db

LOGIN, DENIED, OK = "login", 403, 200


def pages(version: ModelVersion) -> list[str]:
    base = f"/admin/detection/modelversion/{version.pk}"
    return [f"{base}/change/", f"{base}/compare/", f"{base}/drift/"]


def user_in(role: str, analyst: User) -> User | None:
    if role == "anonymous":
        return None
    if role == "analyst":
        return analyst
    if role == "superuser":
        return User.objects.create_superuser("root", "root@example.com", "x")
    return User.objects.create_user(role, is_staff=role == "staff")  # staff: the flag alone, no permission


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", LOGIN), ("plain", LOGIN), ("staff", DENIED), ("analyst", OK), ("superuser", OK)],
)
def test_each_role_against_each_monitoring_page(role, expected, labelled, analyst) -> None:
    version, _ = labelled
    client = logged_in(user_in(role, analyst))
    for url in pages(version):
        response = client.get(url)
        if expected == LOGIN:  # the admin sends anyone not logged in as staff to its login page
            assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
        else:
            assert response.status_code == expected, url


def test_version_page_shows_its_label_metrics_and_links(admin_client, labelled) -> None:
    version, _ = labelled
    page = admin_client.get(f"/admin/detection/modelversion/{version.pk}/change/").content.decode()
    assert f'id="label-metrics-v{version.pk}"' in page and f'id="label-metrics-by-model-v{version.pk}"' in page
    assert "precision of the top 100" in page and "labels_confirmed 4" in page
    assert f"/admin/detection/modelversion/{version.pk}/compare/" in page
    assert f"/admin/detection/modelversion/{version.pk}/drift/" in page


def shared_rows(count: int) -> list:
    customer, batch = CustomerFactory(), ImportBatchFactory()
    return TransactionFactory.create_batch(count, customer=customer, batch=batch)


def score_all(version: ModelVersion, transactions: list, scores: list[float], flags: list[bool]) -> None:
    TransactionScore.objects.bulk_create(
        TransactionScoreFactory.build(
            transaction=txn,
            model_version=version,
            hist_freq=3,
            iso_forest_score=score,
            iso_forest_flag=flag,
            autoencoder_score=score,
            anomaly_score=score,
            is_flagged=flag,
        )
        for txn, score, flag in zip(transactions, scores, flags, strict=True)
    )


@pytest.fixture
def active_and_candidate():
    """200 rows scored by both: the active version ranks them by id, the candidate in reverse."""
    rows = shared_rows(200)
    active = ModelVersionFactory(metrics={"rows": 200, "flagged_either": 10})
    candidate = ModelVersionFactory(status="candidate", is_active=False, activated_at=None, metrics={"rows": 200})
    ranked = [1 - n / 200 for n in range(200)]
    score_all(active, rows, ranked, [n < 10 for n in range(200)])
    score_all(candidate, rows, ranked[::-1], [n >= 190 or n < 2 for n in range(200)])
    return active, candidate, rows


def test_comparison_of_a_reversed_ranking(active_and_candidate, django_assert_max_num_queries) -> None:
    active, candidate, rows = active_and_candidate
    with django_assert_max_num_queries(8):
        result = version_comparison(active, candidate)

    top = comparison.top_count(200)  # 4 rows
    assert result.paired_rows == 200 and result.top["top"] == top and result.top["kept"] == 0
    assert [r["transaction_id"] for r in result.top["entering"]] == [t.pk for t in rows[::-1][:top]]
    assert [r["transaction_id"] for r in result.top["leaving"]] == [t.pk for t in rows[:top]]
    assert result.top["entering"][0]["transaction"]["invoice_no"] == rows[-1].invoice_no
    final = result.overlap[0]
    assert (final["flag"], final["base"], final["other"], final["both"]) == ("final flag", 10, 12, 2)
    assert final["jaccard"] == pytest.approx(2 / 20)


def test_compare_page_lists_rows_with_links_to_their_transactions(admin_client, active_and_candidate) -> None:
    active, candidate, rows = active_and_candidate
    page = admin_client.get(f"/admin/detection/modelversion/{candidate.pk}/compare/").content.decode()
    assert 'id="entering-rows"' in page and 'id="leaving-rows"' in page
    assert f"/admin/transactions/transaction/{rows[-1].pk}/change/" in page
    assert f"/admin/transactions/transaction/{rows[0].pk}/change/" in page
    assert f"v{active.pk} (active)" in page and f"v{candidate.pk} (candidate)" in page


def test_compare_page_of_the_active_version_says_so(admin_client, active_and_candidate) -> None:
    active, _, _ = active_and_candidate
    page = admin_client.get(f"/admin/detection/modelversion/{active.pk}/compare/").content.decode()
    assert 'id="compare-notice"' in page and "is the active version" in page


def test_drift_of_new_rows_at_other_hours_says_retraining_is_due(admin_client) -> None:
    rows = shared_rows(300)
    version = ModelVersionFactory(training_rows=200)
    score_all(version, rows, [0.5] * 300, [False] * 300)
    # the 100 rows that arrived after training (the highest ids) come at night
    TransactionScore.objects.filter(model_version=version, transaction_id__in=[t.pk for t in rows[200:]]).update(
        transaction_hour=23
    )

    report = feature_drift(version)

    assert (report.training_rows, report.new_rows, report.enough_rows) == (200, 100, True)
    by_name = {row["client_name"]: row for row in report.features}
    assert by_name["TransactionHour"]["band"] == "retrain" and report.band == "retrain"
    assert by_name["TotalSpent"]["psi"] == pytest.approx(0.0)
    page = admin_client.get(f"/admin/detection/modelversion/{version.pk}/drift/").content.decode()
    assert 'id="drift-band">retrain<' in page and "TransactionHour" in page


def test_drift_with_too_few_new_rows_says_so(admin_client, labelled) -> None:
    version, _ = labelled
    report = feature_drift(version)
    assert (report.new_rows, report.enough_rows, report.band) == (0, False, "unknown")
    page = admin_client.get(f"/admin/detection/modelversion/{version.pk}/drift/").content.decode()
    assert 'id="too-few"' in page


def test_dashboard_shows_the_active_version_against_verdicts(admin_client, labelled) -> None:
    version, _ = labelled
    page = admin_client.get("/").content.decode()
    assert 'id="labels"' in page and f'id="label-metrics-v{version.pk}"' in page
    assert "false-positive rate among reviewed alerts" in page
