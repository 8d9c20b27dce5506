"""The customer profile page: a thin view over profiles.selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .charts import invoice_chart
from .selectors import customer_profile

# The rule of the dashboard (dashboard.access), the API's score reads and the admin's score list.
VIEW_SCORES = "detection.view_transactionscore"


@login_required
@permission_required(VIEW_SCORES, raise_exception=True)
def customer_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The profile of one customer; 404 for an unknown CustomerID."""
    profile = customer_profile(customer_id)
    if profile is None:
        raise Http404(f"No customer {customer_id}.")
    return render(request, "profiles/customer.html", {"profile": profile, "chart": invoice_chart(profile["invoices"])})
