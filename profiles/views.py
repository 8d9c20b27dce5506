"""The customer profile page: a thin view over profiles.selectors."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.access import scores_view_required

from .charts import invoice_chart
from .selectors import customer_profile


@scores_view_required
def customer_page(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The profile of one customer; 404 for an unknown CustomerID."""
    profile = customer_profile(customer_id)
    if profile is None:
        raise Http404(f"No customer {customer_id}.")
    return render(request, "profiles/customer.html", {"profile": profile, "chart": invoice_chart(profile["invoices"])})
