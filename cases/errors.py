"""Errors of the case services, each with the HTTP status it means."""

from core.errors import ApplicationError, Conflict


class CaseTransitionError(Conflict):
    """The case cannot move to the requested status from its current one."""

    default_message = "The case cannot change to that status."


class CasePermissionDenied(ApplicationError):
    """The user lacks the permission the change needs (reopening a closed case)."""

    status_code = 403
    default_message = "You do not have permission to make this change to the case."
