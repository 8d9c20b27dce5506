"""Who may see the dashboard: a logged-in user who may view transaction scores, as in the admin and the API."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_required, permission_required

# The permission the admin's score list and the API's score reads ask.
VIEW_SCORES = "detection.view_transactionscore"


def scores_view_required(view_function: Callable, **kwargs) -> Callable:
    """Wrap a view: anonymous users go to the login page, users without VIEW_SCORES get 403.

    Also django-plotly-dash's `view_decorator` for every Dash endpoint (layout, callbacks).
    """
    return login_required(permission_required(VIEW_SCORES, raise_exception=True)(view_function))
