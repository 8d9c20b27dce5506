"""The response to a login refused by django-axes' lockout: JSON for the API, a short page elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

LOCKED_OUT = "Too many failed logins for this username from this address; try again in {minutes} minutes."


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """429 with Retry-After (the cool-off): `{"detail": ...}` under /api/, plain text for the admin login."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = LOCKED_OUT.format(minutes=max(1, seconds // 60))
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response
