"""One shape for every API error, and the translation of domain errors into HTTP statuses.

Every error body has `detail` (one sentence); bad input (400) also has `errors`, mapping each
offending field ("customer_id", "rows[3]", "Content-Type", "body") to its messages.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from detection.estimators import ArtifactError
from detection.selectors import NoActiveModel

JSON_ONLY = "send a JSON object with Content-Type: application/json"


class ServiceUnavailable(exceptions.APIException):
    """The request is valid but cannot be served now (no active model, unusable model files)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable."
    default_code = "unavailable"


def no_active_model() -> ServiceUnavailable:
    return ServiceUnavailable(
        "No active model version: anomaly scores exist only after a training run "
        "(`manage.py train_models`, or the dashboard's Train button)."
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with 400 for unparseable or non-JSON bodies and 503 for a missing model."""
    request = context.get("request")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        content_type = getattr(request, "content_type", "") or "none"
        exc = exceptions.ValidationError({"Content-Type": [f"'{content_type}' is not accepted: {JSON_ONLY}."]})
    elif isinstance(exc, exceptions.ParseError):
        exc = exceptions.ValidationError({"body": [f"{exc.detail}: {JSON_ONLY}."]})
    elif isinstance(exc, NoActiveModel):
        exc = no_active_model()
    elif isinstance(exc, ArtifactError):
        exc = ServiceUnavailable(f"The active model's files cannot be loaded: {exc}")
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        response.data = {"detail": f"Invalid input: {', '.join(errors)}.", "errors": errors}
    return response


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
