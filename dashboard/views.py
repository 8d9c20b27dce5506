"""The dashboard page: headline figures of the active model, its figures against analysts' verdicts, and the
embedded Dash app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_plotly_dash.models import DashApp

from detection.selectors import active_model_version, headline_figures
from monitoring.selectors import recent_label_metrics
from transactions.selectors import scoreable_transactions

from .access import scores_view_required
from .dash_app import APP_NAME
from .links import DashboardView

# django-plotly-dash's iframe sandbox (its `plotly_app` tag), kept for the frame written here.
FRAME_SANDBOX = (
    "allow-downloads allow-scripts allow-same-origin allow-modals allow-popups allow-popups-to-escape-sandbox"
)


def app_frame_url(view: DashboardView) -> str:
    """The Dash app's address with the view's query string, which the app reads at start.

    The query string, not django-plotly-dash's cached initial arguments, carries the choice: the
    frame's address then says what it shows, in a fresh browser or one that has the dashboard open.
    """
    _, app = DashApp.locate_item(APP_NAME, stateless=True)
    query = view.query()
    return f"{app.base_url()}?{query}" if query else app.base_url()


@scores_view_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """The dashboard, or a notice saying what to do first when no data or no model exists yet.

    `?customer=<CustomerID>&metric=<metric>` opens it on that customer and ranking metric.
    """
    version = active_model_version()
    view = DashboardView.from_query(request.GET)
    context: dict = {"frame_url": app_frame_url(view), "frame_sandbox": FRAME_SANDBOX, "view": view}
    if version is None:
        context["empty_state"] = "no_model" if scoreable_transactions().exists() else "no_data"
    else:
        context["headline"] = headline_figures(version)
        context["labels"] = recent_label_metrics(version)
    return render(request, "dashboard/index.html", context)
