"""The one error base of the application: services raise its subclasses, the edges map them.

An `ApplicationError` carries the HTTP status it means and a message safe to show to clients;
the API's exception handler turns any of them into `{"detail": ..., "errors"?: {...}}` with that
status, the admin shows the message, management commands print it.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """A failure the caller can act on, with the HTTP status that says so.

    `errors` optionally maps field names ("rows[3]", "contamination") to their messages.
    """

    status_code: int = 400
    default_message: str = "The request cannot be served."

    def __init__(self, message: str | None = None, *, errors: dict[str, list[str]] | None = None) -> None:
        self.message = message or self.default_message
        self.errors = errors or {}
        super().__init__(self.message)


class InvalidInput(ApplicationError):
    """Input that fails validation; `errors` names each field."""

    status_code = 400
    default_message = "Invalid input."


class Conflict(ApplicationError):
    """The request conflicts with work in progress."""

    status_code = 409
    default_message = "The request conflicts with work in progress."


class ServiceUnavailable(ApplicationError):
    """The request is valid but cannot be served now; retrying after `retry_after` seconds may work."""

    status_code = 503
    default_message = "The service is temporarily unavailable."
    retry_after = 30
