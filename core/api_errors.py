"""JSON for every error answered on an API path, whoever raised it: Django, a middleware or a view.

DRF's handler shapes the errors its views raise; this middleware covers the rest (Django's own
400/403/404/413/500 pages, CSRF failures, an exception no handler caught), so an API client never
has to parse HTML. Bodies are `{"detail": ...}`, and a body over the size limit names `body`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

API_PREFIXES = ("/api/",)
API_PATHS = ("/customer_ids",)
DJANGO_CLIENT_ERRORS = (Http404, PermissionDenied, SuspiciousOperation, BadRequest)
SERVER_ERROR = "Internal server error: the request could not be served."
# Headers of the replaced response that describe its old body, not the request's outcome.
_BODY_HEADERS = {"content-type", "content-length", "content-encoding", "content-language"}


def is_api_path(path: str) -> bool:
    """True for the paths whose clients expect JSON: /api/... and the seed's /customer_ids."""
    return path.startswith(API_PREFIXES) or path in API_PATHS


def _is_json(response: HttpResponse) -> bool:
    return "json" in response.get("Content-Type", "")


def _phrase(status: int) -> str:
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:
        return "The request cannot be served."


def json_error(response: HttpResponse) -> JsonResponse:
    """`response` (an error page) as `{"detail": ...}` with the same status and its other headers."""
    status = response.status_code
    detail = SERVER_ERROR if status >= 500 else _phrase(status)
    replacement = JsonResponse({"detail": detail}, status=status)
    for name, value in response.items():
        if name.lower() not in _BODY_HEADERS:
            replacement[name] = value
    for cookie in response.cookies.values():
        replacement.cookies[cookie.key] = cookie
    return replacement


class ApiJsonErrorsMiddleware:
    """On API paths: an unhandled exception becomes a logged JSON 500, an HTML error page JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 400 and is_api_path(request.path) and not _is_json(response):
            return json_error(response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            return None
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(
                {"detail": "Invalid input: body.", "errors": {"body": [f"is too large: {exception}"]}}, status=400
            )
        if isinstance(exception, DJANGO_CLIENT_ERRORS):
            return None  # Django answers these with their 4xx; __call__ turns the page into JSON
        logger.error("unhandled error on %s %s", request.method, request.path, exc_info=exception)
        return JsonResponse({"detail": SERVER_ERROR}, status=500)
