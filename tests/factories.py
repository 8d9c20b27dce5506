"""factory_boy factories for unit tests: rows built directly, without ingesting a file or training."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factory
from factory.django import DjangoModelFactory

from detection.models import ModelVersion, TransactionScore
from reviews.models import Review
from transactions.models import Customer, ImportBatch, Transaction

START = datetime(2011, 3, 1, 9, 0, tzinfo=UTC)


class ImportBatchFactory(DjangoModelFactory):
    class Meta:
        model = ImportBatch

    file_name = "factory.csv"
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    status = ImportBatch.Status.COMPLETED


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("customer_id",)

    customer_id = factory.Sequence(lambda n: 12346 + n)
    country = "United Kingdom"
    first_seen = START
    last_seen = START + timedelta(days=200)


class TransactionFactory(DjangoModelFactory):
    class Meta:
        model = Transaction

    invoice_no = factory.Sequence(lambda n: str(536365 + n))
    stock_code = factory.Sequence(lambda n: str(85123 + n % 50))
    description = "WHITE HANGING HEART T-LIGHT HOLDER"
    quantity = 6
    invoice_date = factory.Sequence(lambda n: START + timedelta(hours=n))
    unit_price = "2.550"
    customer = factory.SubFactory(CustomerFactory)
    country = factory.SelfAttribute("customer.country")
    batch = factory.SubFactory(ImportBatchFactory)
    line_number = factory.Sequence(lambda n: n + 2)
    fingerprint = factory.Sequence(lambda n: n + 1)


class ModelVersionFactory(DjangoModelFactory):
    class Meta:
        model = ModelVersion

    status = ModelVersion.Status.ACTIVE
    is_active = True
    activated_at = START
    finished_at = START
    parameters = factory.LazyFunction(lambda: {"contamination": 0.02, "epochs": 3, "seed": 0})


class TransactionScoreFactory(DjangoModelFactory):
    """A scored transaction; `flagged=True` flags it by both models with a high anomaly score."""

    class Meta:
        model = TransactionScore

    class Params:
        flagged = factory.Trait(
            iso_forest_flag=True,
            autoencoder_flag=True,
            is_flagged=True,
            is_common_anomaly=True,
            anomaly_score=0.99,
            iso_forest_score=0.99,
            autoencoder_score=0.99,
            risk_score=1.0,
            explanation=factory.LazyFunction(lambda: [{"feature": "TotalSpent", "value": 950.0, "share": 0.8}]),
        )

    transaction = factory.SubFactory(TransactionFactory)
    model_version = factory.SubFactory(ModelVersionFactory)
    customer_id = factory.SelfAttribute("transaction.customer_id")
    invoice_date = factory.SelfAttribute("transaction.invoice_date")
    country = factory.SelfAttribute("transaction.country")
    invoice_no = factory.SelfAttribute("transaction.invoice_no")
    stock_code = factory.SelfAttribute("transaction.stock_code")
    description = factory.SelfAttribute("transaction.description")
    quantity = factory.SelfAttribute("transaction.quantity")
    unit_price = factory.SelfAttribute("transaction.unit_price")
    total_spent = 15.3
    hist_freq = 12
    unusual_destination = False
    quantity_spike = False
    zscore = 0.1
    price_deviation = 0.0
    transaction_hour = 10
    transaction_day = 2
    iso_forest_score = 0.4
    iso_forest_flag = False
    autoencoder_mse = 0.01
    autoencoder_score = 0.4
    autoencoder_flag = False
    risk_score = 0.0
    anomaly_score = 0.4
    is_flagged = False
    is_common_anomaly = False
    explanation = factory.LazyFunction(list)


class ReviewFactory(DjangoModelFactory):
    class Meta:
        model = Review

    transaction = factory.SubFactory(TransactionFactory)
    status = Review.Status.NEW
