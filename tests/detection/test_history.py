"""Point-in-time history features: nothing explains itself, batch equals incremental. No database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detection.history import HISTORY_COLUMNS, fit_priors, history_features

from .factories import frame, line, weekly_invoices


def test_first_invoice_in_a_country_has_no_earlier_invoice_there_though_it_is_in_the_frame() -> None:
    rows = frame(
        *weekly_invoices(1, 6),
        line(invoice_no="BR1", when="2011-03-01 10:00", country="Brazil"),
        line(invoice_no="BR2", when="2011-03-08 10:00", country="Brazil"),
    )
    features = history_features(rows)
    brazil = features[rows["country"] == "Brazil"]
    assert brazil["earlier_in_country"].tolist() == [0, 1]
    assert brazil["hist_freq"].tolist() == [6, 7]
    assert brazil["unusual_destination"].tolist() == [True, False]
    assert brazil["previous_country"].tolist() == ["United Kingdom", "Brazil"]
    assert brazil["previous_country_invoices"].iloc[0] == 6
    # The very first invoice of a customer is not "unusual": there is nothing to differ from.
    assert features["unusual_destination"].iloc[0] == np.False_
    assert features["hist_freq"].iloc[0] == 0


def test_lines_of_one_invoice_share_one_history_and_do_not_count_each_other() -> None:
    rows = frame(
        *weekly_invoices(1, 3),
        line(invoice_no="X", when="2011-02-01 10:00", quantity=1),
        line(invoice_no="X", when="2011-02-01 10:00", quantity=2, stock_code="22423"),
        line(invoice_no="X", when="2011-02-01 10:00", quantity=3, stock_code="47566"),
    )
    features = history_features(rows)
    invoice = features[rows["invoice_no"] == "X"]
    shared = ["hist_freq", "earlier_in_country", "days_since_previous", "invoices_last_hour", "amount_z", "hour_share"]
    assert (invoice[shared].nunique() == 1).all()
    assert invoice["hist_freq"].iloc[0] == 3
    assert invoice["invoices_last_hour"].iloc[0] == 0
    assert invoice["days_since_previous"].iloc[0] == pytest.approx(15.0)  # Monday 17 January 10:00 to 1 February 10:00
    assert invoice["quantity_median"].nunique() == 1


def test_new_stock_code_is_true_only_before_the_customer_first_bought_it() -> None:
    rows = frame(
        line(invoice_no="A", when="2011-02-01 10:00", stock_code="X"),
        line(invoice_no="B", when="2011-02-02 10:00", stock_code="X"),
        line(invoice_no="B", when="2011-02-02 10:00", stock_code="Y"),
        line(invoice_no="C", when="2011-02-02 10:00", stock_code="X", customer_id=2),
    )
    assert history_features(rows)["new_stock_code"].tolist() == [True, False, True, True]


def test_burst_counts_earlier_invoices_in_the_last_hour_day_and_week() -> None:
    rows = frame(
        *weekly_invoices(1, 4),
        *[line(invoice_no=f"B{n}", when=f"2011-02-10 14:{10 * n:02d}") for n in range(5)],
    )
    burst = history_features(rows)[rows["invoice_no"].str.startswith("B")]
    assert burst["invoices_last_hour"].tolist() == [0, 1, 2, 3, 4]
    assert burst["invoices_last_7d"].tolist() == [0, 1, 2, 3, 4]
    assert burst["weekly_rate"].iloc[0] == pytest.approx(4 / ((38 + 4 / 24) / 7))  # 4 invoices since 3 January 10:00


def _session(customer_id: int, day: str, prefix: str) -> list[dict]:
    """Five invoices within the hour."""
    return [line(invoice_no=f"{prefix}{n}", when=f"{day} 14:{10 * n:02d}", customer_id=customer_id) for n in range(5)]


def test_sessions_in_the_historys_first_week_are_not_bursts() -> None:
    rows = frame(
        *[item for customer in range(1, 21) for item in weekly_invoices(customer, 10)],  # from 3 January
        *_session(30, "2011-01-05", "S"),  # first seen in the history's first week: habits unknown
        *_session(30, "2011-01-08", "V"),  # its next session, still in the first week: unknown still
        *_session(30, "2011-01-12", "T"),  # the same customer's session after the first week is judged
        *_session(31, "2011-02-15", "U"),  # a customer new after the first week is judged
    )
    burst = history_features(rows)["burst_surprise"].groupby(rows["invoice_no"].str[0]).max()
    assert burst["S"] == 0.0
    assert burst["V"] == 0.0
    assert burst["T"] > 0.0
    assert burst["U"] > 0.0


def test_a_slice_of_the_past_keeps_the_training_rows_first_week() -> None:
    # Customer 40 and its item appear a month after the history starts, with a session of 4 invoices;
    # its fifth invoice is judged against that slice of the past alone (as a posted invoice is).
    # The first week is the training rows' (in the priors), not the slice's: the burst counts.
    session = [
        line(invoice_no=f"K{n}", when=f"2011-02-10 14:{10 * n:02d}", customer_id=40, stock_code="ONLY40")
        for n in range(5)
    ]
    everything = frame(*[item for customer in range(1, 21) for item in weekly_invoices(customer, 10)], *session)
    priors = fit_priors(everything)
    posted = everything[everything["invoice_no"] == "K4"]
    past = everything[(everything["customer_id"] == 40) & (everything["invoice_no"] != "K4")]

    alone = history_features(posted, past=past, priors=priors)
    full = history_features(everything, priors=priors)[everything["invoice_no"] == "K4"]

    assert full["burst_surprise"].iloc[0] > 0.0
    assert alone["burst_surprise"].iloc[0] == pytest.approx(full["burst_surprise"].iloc[0])


def test_cold_start_first_invoices_look_ordinary() -> None:
    # Many customers with ordinary invoices, one new customer whose first invoice is ordinary too.
    rows = frame(*[item for customer in range(1, 21) for item in weekly_invoices(customer, 5)])
    features = history_features(rows)
    first = features[features["hist_freq"] == 0]
    assert len(first) == 40
    assert first["amount_z"].abs().max() < 1.0
    assert first["zscore"].abs().max() < 2.0
    assert first["quantity_spike"].sum() == 0
    assert first["hour_rarity"].max() < 1.5
    assert not first["unusual_destination"].any()


def test_the_lines_of_one_earlier_order_count_as_one_observation_of_the_customers_habits() -> None:
    # Customer 30's only earlier order has 16 lines of 2 units; customer 31's has one line of 2.
    # Both then order 240 units. One order is one look at a customer's habits however many lines it
    # has: both are shrunk toward the shop-wide prior alike (weight 1 / (1 + 3)), so the second order
    # of a wholesale customer does not read as 18 robust deviations above "their usual 2".
    many = [
        line(invoice_no="M0", when="2011-02-01 10:00", customer_id=30, quantity=2, stock_code=f"S{n}")
        for n in range(16)
    ]
    rows = frame(
        *[item for customer in range(1, 21) for item in weekly_invoices(customer, 5)],
        *many,
        line(invoice_no="M1", when="2011-02-03 10:00", customer_id=30, quantity=240),
        line(invoice_no="O0", when="2011-02-01 10:00", customer_id=31, quantity=2, stock_code="S0"),
        line(invoice_no="O1", when="2011-02-03 10:00", customer_id=31, quantity=240),
    )
    features = history_features(rows)
    many_lines = features[rows["invoice_no"] == "M1"].iloc[0]
    one_line = features[rows["invoice_no"] == "O1"].iloc[0]
    assert many_lines["hist_freq"] == one_line["hist_freq"] == 1
    for column in ("quantity_median", "quantity_z", "zscore"):
        assert many_lines[column] == pytest.approx(one_line[column]), column
    assert many_lines["quantity_z"] < 10


def test_price_baseline_uses_the_last_30_days_and_falls_back_to_longer_history() -> None:
    rows = frame(
        line(invoice_no="J", when="2011-01-05 10:00", unit_price=1.0),
        line(invoice_no="N1", when="2011-11-01 10:00", unit_price=3.0, customer_id=2),
        line(invoice_no="N2", when="2011-11-20 10:00", unit_price=3.0, customer_id=3),
        line(
            invoice_no="D", when="2011-12-05 10:00", unit_price=3.0, customer_id=4
        ),  # new price is the usual one by now
        line(invoice_no="O", when="2011-06-01 10:00", unit_price=2.0, stock_code="Z"),
        line(invoice_no="P", when="2011-12-01 10:00", unit_price=2.0, stock_code="Z", customer_id=2),
        line(invoice_no="Q", when="2011-12-01 10:00", unit_price=9.0, stock_code="NEW", customer_id=3),
    )
    features = history_features(rows)
    assert np.isnan(features["item_price_baseline"].iloc[0])
    assert features["item_price_baseline"].iloc[1] == pytest.approx(1.0)  # only January: longer history
    assert features["item_price_baseline"].iloc[3] == pytest.approx(3.0)  # November, within 30 days
    assert features["price_ratio"].iloc[3] == pytest.approx(0.0)
    assert features["item_price_baseline"].iloc[5] == pytest.approx(2.0)  # June: longer history
    assert features["price_ratio"].iloc[6] == 0.0  # never sold before: no evidence either way


def test_scoring_new_rows_against_stored_history_equals_the_batch_computation() -> None:
    rng = np.random.default_rng(3)
    lines = []
    for customer in range(1, 9):
        lines += weekly_invoices(customer, 6, start=f"2011-01-0{1 + customer % 7} 0{8 + customer % 2}:00")
    lines += [
        line(invoice_no="L1", when="2011-03-01 10:00", customer_id=3, country="France", quantity=400),
        line(invoice_no="L2", when="2011-03-01 10:20", customer_id=3, unit_price=30.0),
        line(invoice_no="L2", when="2011-03-01 10:20", customer_id=3, stock_code="22423", quantity=1),
        line(invoice_no="L3", when="2011-03-01 03:00", customer_id=5),
        line(invoice_no="C9", when="2011-03-02 09:00", customer_id=5, quantity=-2),
    ]
    rows = frame(*lines).sample(frac=1.0, random_state=int(rng.integers(100)))  # order must not matter
    priors = fit_priors(rows)
    batch = history_features(rows, priors=priors)
    is_new = rows["invoice_no"].isin(["L1", "L2", "L3", "C9"])
    incremental = history_features(rows[is_new], past=rows[~is_new], priors=priors)
    pd.testing.assert_frame_equal(incremental, batch[is_new])
    assert list(batch.columns) == HISTORY_COLUMNS


def test_masked_median_gives_nanmedians_answer() -> None:
    import warnings

    import numpy as np

    from detection.history_stats import _masked_median

    rng = np.random.default_rng(3)
    values = rng.normal(size=(2_000, 7))
    values[rng.random(values.shape) < 0.1] = np.nan
    valid = rng.random(values.shape) < 0.6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        expected = np.nanmedian(np.where(valid, values, np.nan), axis=1)
    assert np.array_equal(_masked_median(values, valid), expected, equal_nan=True)


def test_masked_median_of_one_row_equals_its_row_among_others() -> None:
    import numpy as np

    from detection.history_stats import _masked_median

    rng = np.random.default_rng(5)
    values = rng.lognormal(size=(500, 9))
    values[rng.random(values.shape) < 0.1] = np.nan
    values[rng.random(values.shape) < 0.02] = np.inf
    values[:20] = np.nan  # no value at all
    valid = rng.random(values.shape) < 0.6
    valid[20:40] = True
    with np.errstate(invalid="ignore"):
        together = _masked_median(values, valid)
    one_by_one = np.concatenate([_masked_median(values[i : i + 1], valid[i : i + 1]) for i in range(len(values))])
    assert np.array_equal(one_by_one, together, equal_nan=True)
    assert one_by_one.dtype == together.dtype
    assert np.isnan(_masked_median(np.zeros((1, 0)), np.zeros((1, 0), dtype=bool))).all()


def test_item_and_window_figures_computed_in_chunks_equal_one_pass(monkeypatch) -> None:
    from detection import history_stats, item_baselines

    lines = []
    for customer in range(1, 9):
        lines += weekly_invoices(customer, 6, start=f"2011-01-0{1 + customer % 7} 0{8 + customer % 2}:00")
    lines.append(line(invoice_no="L1", when="2011-03-01 10:00", customer_id=3, quantity=400, stock_code="22111"))
    rows = frame(*lines)
    whole = history_features(rows)
    sizes = []
    item_windows = item_baselines._item_windows

    def counted(daily, daily_keys, stock, day, prior_log_quantity):
        sizes.append(len(stock))
        return item_windows(daily, daily_keys, stock, day, prior_log_quantity)

    monkeypatch.setattr(item_baselines, "ITEM_QUERY_CHUNK", 3)
    monkeypatch.setattr(history_stats, "WINDOW_CHUNK", 2)
    monkeypatch.setattr(item_baselines, "_item_windows", counted)
    chunked = history_features(rows)

    pd.testing.assert_frame_equal(chunked, whole)
    assert len(sizes) > 1 and max(sizes) <= 3
