"""The dashboard page: headline figures of the active model around the embedded Dash app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from detection.selectors import active_model_version, headline_figures
from transactions.selectors import scoreable_transactions

from .access import scores_view_required
from .dash_app import APP_NAME, parse_customer


def preselected_customer(request: HttpRequest) -> int | None:
    """The CustomerID of `?customer=<digits>` (links from the admin use it), else None."""
    try:
        return parse_customer(request.GET.get("customer", "").strip())
    except ValueError:
        return None


@scores_view_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """The dashboard, or a notice saying what to do first when no data or no model exists yet.

    `?customer=<CustomerID>` opens it with that customer chosen.
    """
    version = active_model_version()
    customer = preselected_customer(request)
    context: dict = {
        "app_name": APP_NAME,
        # django-plotly-dash sets these component values in the app's initial layout.
        "initial_arguments": {"customer": {"value": customer}} if customer is not None else None,
    }
    if version is None:
        context["empty_state"] = "no_model" if scoreable_transactions().exists() else "no_data"
    else:
        context["headline"] = headline_figures(version)
    return render(request, "dashboard/index.html", context)
