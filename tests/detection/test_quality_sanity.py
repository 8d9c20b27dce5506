"""The review queue's sanity figures: the weekly flag-rate ratio by line and by invoice. No database."""

from __future__ import annotations

import pandas as pd
import pytest

from detection.quality import sanity_figures


def _week(start: str, invoices: int, flagged_invoice_lines: int, prefix: str) -> list[dict]:
    """`invoices` two-line invoices; the first invoice gets `flagged_invoice_lines` more lines, flagged."""
    rows = []
    for n in range(invoices):
        for _ in range(2):
            rows.append({"invoice_no": f"{prefix}{n}", "is_flagged": False})
    rows += [{"invoice_no": f"{prefix}0", "is_flagged": True}] * flagged_invoice_lines
    for row in rows:
        row.update(kind="sale", anomaly_score=0.5, invoice_date=pd.Timestamp(start, tz="UTC"))
    return rows


def test_one_large_flagged_invoice_counts_once_by_invoice() -> None:
    scores = pd.DataFrame(
        _week("2011-03-01 10:00", 10, 10, "A")  # one invoice of 12 lines with 10 flagged
        + _week("2011-03-08 10:00", 10, 1, "B")
        + _week("2011-03-15 10:00", 10, 1, "C")
    )
    figures = sanity_figures(scores)
    lines_a, flagged_a = 30, 10
    overall = 12 / len(scores)
    assert figures["worst_week"] == "2011-02-28/2011-03-06"
    assert figures["worst_week_ratio"] == pytest.approx(flagged_a / lines_a / overall, abs=1e-3)
    assert figures["worst_week_ratio_by_invoice"] == pytest.approx(1.0)  # one flagged invoice of ten each week
    assert "worst_week_ratio_by_invoice" not in sanity_figures(scores.drop(columns="invoice_no"))
