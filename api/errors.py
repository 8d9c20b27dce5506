"""One shape for every API error: DRF's own errors and the application's (`core.errors.ApplicationError`).

Every error body has `detail` (one sentence); bad input (400) also has `errors`, mapping each
offending field ("customer_id", "rows[3]", "Content-Type", "body") to its messages. An
ApplicationError subclass carries its own status and message, so this handler maps only the base.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError

JSON_ONLY = "send a JSON object with Content-Type: application/json"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with 400 for unparseable or non-JSON bodies and each ApplicationError's own status."""
    request = context.get("request")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        content_type = getattr(request, "content_type", "") or "none"
        exc = exceptions.ValidationError({"Content-Type": [f"'{content_type}' is not accepted: {JSON_ONLY}."]})
    elif isinstance(exc, exceptions.ParseError):
        exc = exceptions.ValidationError({"body": [f"{exc.detail}: {JSON_ONLY}."]})
    elif isinstance(exc, ApplicationError):
        return application_error_response(exc)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        response.data = {"detail": f"Invalid input: {', '.join(errors)}.", "errors": errors}
    return response


def application_error_response(exc: ApplicationError) -> Response:
    """The response for a domain error: its status, its message, and the fields it names."""
    if exc.errors:
        errors = field_errors(exc.errors)
        return Response({"detail": f"Invalid input: {', '.join(errors)}.", "errors": errors}, status=exc.status_code)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return Response({"detail": exc.message}, status=exc.status_code, headers=headers)


def field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested error detail into {"field": [...], "rows[3].Quantity": [...]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "body" if key in ("non_field_errors", "detail") and not prefix else str(key)
            if prefix:
                name = f"{prefix}[{name}]" if name.isdigit() else f"{prefix}.{name}"
            out.update(field_errors(value, name))
        return out
    if isinstance(detail, list) and detail and all(isinstance(item, dict | list) for item in detail):
        out = {}
        for index, item in enumerate(detail):
            out.update(field_errors(item, f"{prefix or 'body'}[{index}]"))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "body": [str(message) for message in messages]}
