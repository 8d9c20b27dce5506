"""The dashboard page: headline figures of the active model around the embedded Dash app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from detection.selectors import active_model_version, headline_figures
from transactions.selectors import scoreable_transactions

from .dash_app import APP_NAME


@login_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """The dashboard, or a notice saying what to do first when no data or no model exists yet."""
    version = active_model_version()
    context: dict = {"app_name": APP_NAME, "version": version}
    if version is None:
        context["empty_state"] = "no_model" if scoreable_transactions().exists() else "no_data"
    else:
        context["headline"] = headline_figures(version)
    return render(request, "dashboard/index.html", context)
