"""Line kinds and the link from a cancellation to the sale it undoes. Pure pandas, no database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detection.kinds import NON_PRODUCT_CODES, line_kinds, link_cancellations, rule_reasons

from .factories import frame, line


def test_line_kinds_split_sales_cancellations_and_non_product_lines() -> None:
    rows = frame(
        line(invoice_no="536365", when="2011-03-07 10:00"),
        line(invoice_no="C536379", when="2011-03-07 11:00", quantity=-1),
        line(invoice_no="536380", when="2011-03-07 12:00", quantity=-3),  # negative without a C
        line(invoice_no="536381", when="2011-03-07 12:00", stock_code="POST", unit_price=18.0),
        line(invoice_no="C536382", when="2011-03-07 12:00", stock_code="M", quantity=-1),  # credited manual line
        line(invoice_no="536383", when="2011-03-07 12:00", stock_code="gift_0001_20"),
        line(invoice_no="536384", when="2011-03-07 12:00", stock_code="DCGS0076"),  # goods from the dotcom shop
    )
    assert line_kinds(rows).tolist() == [
        "sale",
        "cancellation",
        "cancellation",
        "non_product",
        "non_product",
        "non_product",
        "sale",
    ]


def test_every_documented_non_product_code_is_classified_non_product() -> None:
    rows = frame(
        *[
            line(invoice_no=f"I{n}", when="2011-03-07 10:00", stock_code=code)
            for n, code in enumerate(NON_PRODUCT_CODES)
        ]
    )
    assert set(line_kinds(rows)) == {"non_product"}
    assert {"POST", "DOT", "M", "D", "C2", "S", "BANK CHARGES", "AMAZONFEE", "CRUK", "B", "PADS"} <= set(
        NON_PRODUCT_CODES
    )


def test_cancellation_links_to_the_latest_earlier_sale_that_covers_it() -> None:
    rows = frame(
        line(invoice_no="S1", when="2011-03-01 10:00", quantity=12),
        line(invoice_no="S2", when="2011-03-05 10:00", quantity=1),  # too few to be undone by -6
        line(invoice_no="C1", when="2011-03-06 10:00", quantity=-6),
        line(invoice_no="S3", when="2011-03-07 10:00", quantity=6),  # later: cannot be the original
        line(invoice_no="C2", when="2011-03-08 10:00", quantity=-1, customer_id=2),  # nothing sold to customer 2
        line(invoice_no="C3", when="2011-03-09 10:00", quantity=-6, stock_code="22423"),  # other item
    )
    links = link_cancellations(rows)
    assert links.index.tolist() == [2, 4, 5]
    assert links["original_invoice_no"].tolist() == ["S1", None, None]
    assert links["original_index"].tolist() == [0, -1, -1]
    assert links["matched"].tolist() == [True, False, False]


def test_cancellation_prefers_a_sale_of_exactly_the_cancelled_quantity() -> None:
    rows = frame(
        line(invoice_no="S1", when="2011-03-01 10:00", quantity=6),
        line(invoice_no="S2", when="2011-03-05 10:00", quantity=24),
        line(invoice_no="C1", when="2011-03-06 10:00", quantity=-6),
    )
    assert link_cancellations(rows)["original_invoice_no"].tolist() == ["S1"]


def test_only_documented_rules_flag_lines_that_are_not_sales() -> None:
    rows = frame(
        line(
            invoice_no="536381", when="2011-03-07 12:00", stock_code="M", quantity=1, unit_price=1_500.0
        ),  # big manual line
        line(invoice_no="536382", when="2011-03-07 12:00", stock_code="M", unit_price=12.0),  # ordinary one
        line(invoice_no="536383", when="2011-03-07 12:00", stock_code="POST", unit_price=40.0),
        line(invoice_no="C536384", when="2011-03-07 12:00", quantity=-100, unit_price=20.0),  # £2,000, unlinked
        line(invoice_no="C536385", when="2011-03-07 12:00", quantity=-100, unit_price=20.0),  # £2,000, linked
        line(invoice_no="536386", when="2011-03-07 12:00", quantity=5_000, unit_price=20.0),  # a sale: models only
    )
    linked = np.array([False, False, False, False, True, False])
    found = rule_reasons(rows, line_kinds(rows), linked)
    assert [bool(items) for items in found] == [True, False, False, True, False, False]
    assert found[0][0]["key"] == "rule" and "manual adjustment of £1,500.00" in found[0][0]["text"]
    assert "no earlier sale to undo" in found[3][0]["text"]


@pytest.mark.slow
def test_real_file_kinds_counts(real_data_path) -> None:
    raw = pd.read_csv(real_data_path, encoding="latin-1", dtype={"InvoiceNo": str, "StockCode": str})
    raw = raw[raw["CustomerID"].notna()].drop_duplicates()
    rows = pd.DataFrame(
        {
            "invoice_no": raw["InvoiceNo"].str.strip(),
            "stock_code": raw["StockCode"].str.strip(),
            "quantity": raw["Quantity"],
        }
    )
    assert len(rows) == 401_604
    assert line_kinds(rows).value_counts().to_dict() == {"sale": 391_183, "cancellation": 8_506, "non_product": 1_915}


def test_cancellation_links_compare_dates_as_datetime64_not_a_timestamp_per_row() -> None:
    from detection.kinds import _instants

    dates = pd.Series(pd.to_datetime(["2011-10-30 01:30", "2011-10-30 01:10", "2011-03-27 02:30"], utc=True))
    local = dates.dt.tz_convert("Europe/London")
    for values in (dates, local):
        instants = _instants(values)
        assert instants.dtype.kind == "M"
        assert list(np.argsort(instants, kind="stable")) == list(np.argsort(dates.to_numpy(), kind="stable"))
        assert (instants[:, None] < instants[None, :]).tolist() == (
            dates.to_numpy()[:, None] < dates.to_numpy()[None, :]
        ).tolist()


def test_pair_codes_are_equal_exactly_where_customer_and_stock_code_read_the_same() -> None:
    from detection.kinds import _pair_codes

    rows = pd.DataFrame(
        {
            "customer_id": pd.Series([17850, "17850", 17850, 12583, np.nan, np.nan], dtype=object),
            "stock_code": ["85123A", "85123A", "71053", "85123A", "POST", "M"],
        }
    )
    codes = _pair_codes(rows)
    text = rows["customer_id"].astype(str) + "\x1f" + rows["stock_code"].astype(str)
    keys, _ = pd.factorize(text, use_na_sentinel=False)  # a merge matches missing keys with each other
    assert codes.dtype == np.int64
    assert (codes[:, None] == codes[None, :]).tolist() == (keys[:, None] == keys[None, :]).tolist()
