"""The profile's invoices-over-time chart as plain SVG coordinates (no script, so nothing for the CSP to allow)."""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, MARGIN = 900, 220, 30


def invoice_chart(invoices: list[dict[str, Any]]) -> dict[str, Any]:
    """Points (x, y, flagged, title) for each invoice, the zero line's y and the axis labels."""
    if not invoices:
        return {"points": [], "width": WIDTH, "height": HEIGHT}
    start, end = invoices[0]["date"].timestamp(), invoices[-1]["date"].timestamp()
    low = min(0.0, *(item["total"] for item in invoices))
    high = max(0.0, *(item["total"] for item in invoices)) or 1.0
    span_x, span_y = (end - start) or 1.0, (high - low) or 1.0

    def x(moment: float) -> float:
        return round(MARGIN + (moment - start) / span_x * (WIDTH - 2 * MARGIN), 1)

    def y(value: float) -> float:
        return round(HEIGHT - MARGIN - (value - low) / span_y * (HEIGHT - 2 * MARGIN), 1)

    points = [
        {
            "x": x(item["date"].timestamp()),
            "y": y(item["total"]),
            "flagged": item["flagged"],
            "title": f"{item['invoice_no']} · {item['date']:%Y-%m-%d} · {item['total']:,.2f}"
            + (" · flagged" if item["flagged"] else ""),
        }
        for item in invoices
    ]
    return {
        "points": points,
        "width": WIDTH,
        "height": HEIGHT,
        "zero_y": y(0.0),
        "first": invoices[0]["date"],
        "last": invoices[-1]["date"],
        "high": high,
        "low": low,
        "left": MARGIN,
        "right": WIDTH - MARGIN,
    }
