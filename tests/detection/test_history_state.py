"""The compact history state gives the same point-in-time features as the full history computation
for posted rows dated after the training data, and declines what it cannot answer. No database."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from detection.bundle import ScoringBundle
from detection.history import HISTORY_COLUMNS, fit_priors, history_features
from detection.history_state import HistoryState
from detection.kinds import line_kinds

from .factories import whole_past

END = pd.Timestamp("2011-02-28 23:50", tz="UTC")  # winter: London time is UTC
STOCKS = [f"2{n:04d}" for n in range(30)] + ["POST"]
COUNTRIES = ["United Kingdom", "France", "Germany", "EIRE"]


def training_rows(seed: int = 4) -> pd.DataFrame:
    """~4,000 lines of 40 customers over 90 days, with cancellations, postage, free lines and, for
    customers 1-5, invoices in the last hour of the last day."""
    rng = np.random.default_rng(seed)
    invoices = []
    for number in range(900):
        customer = int(rng.integers(1, 41)) if number % 9 else 7  # customer 7 has far more than 50 lines
        when = END - pd.Timedelta(seconds=int(rng.integers(3600, 90 * 86400)))
        invoices.append((f"{500000 + number}", customer, when))
    for customer in range(1, 6):  # bursts right before the end
        invoices.append((f"{510000 + customer}", customer, END - pd.Timedelta(minutes=10 * customer)))
    rows = []
    for invoice_no, customer, when in invoices:
        country = COUNTRIES[0] if rng.random() < 0.8 else COUNTRIES[int(rng.integers(1, 4))]
        cancelled = rng.random() < 0.05
        for _ in range(int(rng.integers(1, 9))):
            quantity = int(rng.choice([1, 2, 3, 6, 12, 24, 48, 200]))
            rows.append(
                {
                    "invoice_no": ("C" if cancelled else "") + invoice_no,
                    "stock_code": STOCKS[int(rng.integers(0, 31 if rng.random() < 0.1 else 30))],
                    "quantity": -quantity if cancelled else quantity,
                    "unit_price": 0.0 if rng.random() < 0.02 else float(np.round(rng.lognormal(0.5, 0.6), 2)),
                    "invoice_date": when,
                    "customer_id": customer,
                    "country": country,
                }
            )
    frame = pd.DataFrame(rows)
    frame.insert(0, "transaction_id", np.arange(1, len(frame) + 1))
    return frame


def posted_rows() -> pd.DataFrame:
    """New invoices just after the training data: bursts, a long history, a new customer, a new item,
    an unseen country, one invoice with the same item twice, a postage line."""
    start = pd.Timestamp("2011-03-01 00:05", tz="UTC")
    spec = [
        ("P1", 1, "20001", 6, 1.25, "United Kingdom", 0),
        ("P1", 1, "20001", 500, 0.4, "United Kingdom", 0),
        ("P1", 1, "99999", 3, 2.0, "United Kingdom", 0),
        ("P2", 2, "20002", 12, 9.5, "France", 10),
        ("P3", 7, "20003", 24, 0.85, "United Kingdom", 30),
        ("P3", 7, "POST", 1, 18.0, "United Kingdom", 30),
        ("P4", 777, "20004", 2, 3.0, "Brazil", 50),
        ("P5", 5, "20005", 1, 0.0, "Germany", 4000),
        ("P6", 12, "20006", 48, 1.1, "EIRE", 86400 * 5),
    ]
    return pd.DataFrame(
        [
            {
                "transaction_id": 0,
                "invoice_no": invoice,
                "stock_code": stock,
                "quantity": quantity,
                "unit_price": price,
                "invoice_date": start + pd.Timedelta(seconds=offset),
                "customer_id": customer,
                "country": country,
            }
            for invoice, customer, stock, quantity, price, country, offset in spec
        ]
    )


@pytest.fixture(scope="module")
def trained():
    frame = training_rows()
    frame["kind"] = line_kinds(frame)
    priors = fit_priors(frame)
    history = frame.assign(quantity_vs_item=history_features(frame, priors=priors)["quantity_vs_item"].to_numpy())
    bundle = ScoringBundle(fused=None, priors=priors, history=history)  # builds its HistoryState
    return bundle, bundle.state


def with_kind(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.assign(kind=line_kinds(rows))


def assert_same_features(fast: pd.DataFrame, full: pd.DataFrame) -> None:
    assert list(fast.columns) == HISTORY_COLUMNS and fast.index.equals(full.index)
    for column in HISTORY_COLUMNS:
        left, right = fast[column], full[column]
        if pd.api.types.is_float_dtype(right.dtype):
            np.testing.assert_allclose(
                left.to_numpy(np.float64), right.to_numpy(np.float64), rtol=0, atol=1e-9, err_msg=column
            )
        else:  # None and NaN are both "none" (pandas gives either, by the other rows' values)
            assert [None if pd.isna(v) else v for v in left] == [None if pd.isna(v) else v for v in right], column


def test_state_features_equal_the_full_history_computation(trained) -> None:
    bundle, state = trained
    rows = with_kind(posted_rows())

    fast = state.features(rows, bundle.priors)
    full = history_features(rows, past=whole_past(bundle.history, rows), priors=bundle.priors)

    assert fast is not None
    assert_same_features(fast, full)
    # The rows cover what the state must answer: bursts, priors for the unknown, a long history.
    assert fast["invoices_last_hour"].iloc[0] > 0 and fast["hist_freq"].iloc[4] > 50
    assert fast["hist_freq"].iloc[6] == 0 and fast["new_stock_code"].iloc[2]
    assert np.isnan(fast["item_price_baseline"].iloc[2]) and fast["unusual_destination"].iloc[3]


@pytest.mark.parametrize("invoice", ["P1", "P2", "P3", "P4", "P5", "P6"])
def test_each_invoice_alone_equals_the_full_history_computation(trained, invoice: str) -> None:
    bundle, state = trained
    rows = with_kind(posted_rows().query("invoice_no == @invoice"))

    fast = state.features(rows, bundle.priors)

    assert fast is not None
    assert_same_features(fast, history_features(rows, past=whole_past(bundle.history, rows), priors=bundle.priors))


def test_every_customer_and_item_of_the_training_rows_equals_the_full_computation(trained) -> None:
    bundle, state = trained
    customers = sorted(bundle.history["customer_id"].unique())
    rows = with_kind(
        pd.DataFrame(
            {
                "transaction_id": 0,
                "invoice_no": [f"Q{customer}" for customer in customers],
                "stock_code": [STOCKS[customer % 30] for customer in customers],
                "quantity": [customer % 7 + 1 for customer in customers],
                "unit_price": 1.5,
                "invoice_date": pd.Timestamp("2011-03-02 09:30", tz="UTC"),
                "customer_id": customers,
                "country": [COUNTRIES[customer % 4] for customer in customers],
            }
        )
    )

    fast = state.features(rows, bundle.priors)

    assert fast is not None
    assert_same_features(fast, history_features(rows, past=whole_past(bundle.history, rows), priors=bundle.priors))


def test_state_survives_an_npz_round_trip_without_pickle(trained) -> None:
    bundle, state = trained
    buffer = io.BytesIO()
    np.savez(buffer, **state.to_arrays())
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as stored:
        loaded = HistoryState.from_arrays(stored)
    rows = with_kind(posted_rows())
    assert_same_features(loaded.features(rows, bundle.priors), state.features(rows, bundle.priors))


@pytest.mark.parametrize(
    "change",
    [
        {"invoice_date": pd.Timestamp("2011-02-01 10:00", tz="UTC")},  # inside the training period
        {"invoice_no": "C900", "quantity": -3},  # a cancellation
        {"invoice_no": "500001"},  # a stored invoice number
        # a new customer and item in the history's first week (history.burst_warm_up)
        {"customer_id": 999, "stock_code": "NEW1", "invoice_date": END - pd.Timedelta(days=88)},
    ],
)
def test_rows_the_state_cannot_answer_are_declined(trained, change: dict) -> None:
    bundle, state = trained
    rows = posted_rows().head(1).assign(**change)
    assert state.features(with_kind(rows), bundle.priors) is None


def test_two_invoices_of_one_customer_are_declined(trained) -> None:
    bundle, state = trained
    rows = posted_rows().head(2).assign(invoice_no=["A1", "A2"])
    assert state.features(with_kind(rows), bundle.priors) is None


@pytest.mark.parametrize("fresh_numbers", [False, True])
def test_past_for_gives_the_figures_of_the_whole_past(trained, fresh_numbers: bool) -> None:
    bundle, _ = trained
    late = bundle.history[bundle.history["invoice_date"] > END - pd.Timedelta(days=20)]
    rows = late.sample(4, random_state=1).drop(columns="quantity_vs_item")
    if fresh_numbers:
        rows = rows.assign(invoice_no="N" + rows["invoice_no"])
    rows = with_kind(rows)
    past, whole = bundle.past_for(rows), whole_past(bundle.history, rows)

    assert len(past) < len(whole)  # the items' older days are left out
    assert_same_features(
        history_features(rows, past=past, priors=bundle.priors),
        history_features(rows, past=whole, priors=bundle.priors),
    )
