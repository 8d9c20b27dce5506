"""Who may call what: logged-in users by default; the seed's two reads open to anyone on request."""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import BasePermission

STORE_PERMISSION = "transactions.add_transaction"


class SeedRead(BasePermission):
    """Logged-in users; anyone when settings.API_ALLOW_ANONYMOUS_READ is on (off by default)."""

    def has_permission(self, request, view) -> bool:
        return bool(settings.API_ALLOW_ANONYMOUS_READ or (request.user and request.user.is_authenticated))


def may_store_transactions(user) -> bool:
    """Whether `user` may save posted transactions (the add-transaction model permission)."""
    return user.has_perm(STORE_PERMISSION)


def permission_for(*perms: str) -> type[BasePermission]:
    """A DRF permission class that asks the same Django model permissions the admin asks for an action."""

    class HasModelPermissions(BasePermission):
        required = perms

        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(self.required))

    HasModelPermissions.__name__ = "Has_" + "_".join(perm.split(".")[-1] for perm in perms)
    return HasModelPermissions
