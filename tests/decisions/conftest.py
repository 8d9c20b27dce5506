"""Fixtures for the decision tests: varied score rows built by factories (no ingest, no training)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from tests.factories import START, CustomerFactory, ModelVersionFactory, TransactionFactory, TransactionScoreFactory

COUNTRIES = ["United Kingdom", "France", "Germany", "EIRE", "Nigeria", "Brazil"]


def varied_scores(version, count: int, *, seed: int) -> list:
    """`count` score rows with values drawn from a seeded generator (countries, prices, scores, flags)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        country = COUNTRIES[rng.integers(len(COUNTRIES))]
        customer = CustomerFactory(customer_id=int(20000 + rng.integers(40)), country=country)
        quantity = int(rng.integers(-5, 50))
        price = float(np.round(rng.uniform(0.1, 60), 3))
        transaction = TransactionFactory(
            customer=customer,
            country=country,
            quantity=quantity,
            unit_price=f"{price:.3f}",
            stock_code=str(85000 + int(rng.integers(20))) + ("B" if rng.random() < 0.2 else ""),
            invoice_no=("C" if quantity < 0 else "") + str(560000 + i),
            description=["WHITE HANGING HEART", "Regency Teacup", "POSTAGE"][int(rng.integers(3))],
            invoice_date=START + timedelta(hours=int(rng.integers(24 * 60))),
        )
        anomaly = float(rng.random() ** 0.3)
        rows.append(
            TransactionScoreFactory(
                transaction=transaction,
                model_version=version,
                total_spent=quantity * price,
                hist_freq=int(rng.integers(1, 60)),
                unusual_destination=bool(rng.random() < 0.2),
                quantity_spike=bool(rng.random() < 0.1),
                zscore=float(rng.normal()),
                transaction_hour=int(rng.integers(24)),
                anomaly_score=anomaly,
                kind="cancellation" if quantity < 0 else "sale",
                is_flagged=anomaly > 0.95,
                iso_forest_flag=anomaly > 0.96,
            )
        )
    return rows


@pytest.fixture
def version(db):
    return ModelVersionFactory()


@pytest.fixture
def scores(version) -> list:
    """120 varied score rows of the active version."""
    return varied_scores(version, 120, seed=3)
