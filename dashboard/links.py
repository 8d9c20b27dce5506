"""Links into the dashboard: the query string (`?customer=&metric=`) that opens a given view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from detection.fields import METRICS
from transactions.models import MAX_CUSTOMER_ID

DEFAULT_METRIC = "TotalSpent"


def parse_customer(value: Any) -> int | None:
    """The chosen CustomerID (15311, "15311" or "15311.0"), None for no choice; ValueError for anything else.

    The dropdown sends ints, but a callback request can carry any JSON value.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a CustomerID: {type(value).__name__}")
    text = str(value).strip().removesuffix(".0")
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_CUSTOMER_ID)):
        raise ValueError("not a CustomerID")
    customer = int(text)
    if not 1 <= customer <= MAX_CUSTOMER_ID:
        raise ValueError("not a CustomerID")
    return customer


@dataclass(frozen=True)
class DashboardView:
    """What a dashboard link chooses: a customer (None for all) and a ranking metric."""

    customer: int | None = None
    metric: str = DEFAULT_METRIC

    @classmethod
    def from_query(cls, query: str | dict[str, Any]) -> DashboardView:
        """The view a query string (or a QueryDict) asks for; anything invalid falls back to the default."""
        values = parse_qs(query.lstrip("?")) if isinstance(query, str) else query
        customer_text = _first(values.get("customer"))
        metric = _first(values.get("metric"))
        try:
            customer = parse_customer(customer_text.strip() if customer_text else None)
        except ValueError:
            customer = None
        return cls(customer=customer, metric=metric if metric in METRICS else DEFAULT_METRIC)

    def query(self) -> str:
        """The query string for this view, "" for the default one."""
        params: dict[str, Any] = {}
        if self.customer is not None:
            params["customer"] = self.customer
        if self.metric != DEFAULT_METRIC:
            params["metric"] = self.metric
        return urlencode(params)


def _first(value: Any) -> str | None:
    """The first of a query parameter's values (parse_qs gives lists, a QueryDict's .get a string)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value if isinstance(value, str) else None


def dashboard_url(*, customer: int | None = None, metric: str = DEFAULT_METRIC) -> str:
    """The site-root URL that opens the dashboard on this customer and metric."""
    query = DashboardView(customer=customer, metric=metric).query()
    return f"/?{query}" if query else "/"
