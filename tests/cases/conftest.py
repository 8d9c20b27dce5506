"""Cases fixtures: an active model version and flagged rows built with the factories at chosen days."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import START, CustomerFactory, ModelVersionFactory, TransactionScoreFactory


@pytest.fixture
def version(db):
    return ModelVersionFactory()


@pytest.fixture
def make_alert(version):
    """make_alert(customer_id, day, score=0.99, amount=15.3, flagged=True) -> a TransactionScore."""

    def make(customer_id: int, day: float, *, score: float = 0.99, amount: float = 15.3, flagged: bool = True):
        customer = CustomerFactory(customer_id=customer_id, country="France" if customer_id % 2 else "United Kingdom")
        return TransactionScoreFactory(
            model_version=version,
            transaction__customer=customer,
            transaction__invoice_date=START + timedelta(days=day),
            flagged=flagged,
            anomaly_score=score,
            total_spent=amount,
        )

    return make
