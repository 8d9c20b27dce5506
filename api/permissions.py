"""Who may call what: the Django model permissions the admin asks for the same data or action.

Reading scores (anomalies, scored transactions, scoring a row) needs `detection.view_transactionscore`,
the customer list `transactions.view_customer`, model versions `detection.view_modelversion`; storing
scored rows also `transactions.add_transaction`. The Analyst group has the view permissions.
settings.API_ALLOW_ANONYMOUS_READ opens the seed's two reads (/customer_ids, /api/anomalies) to anyone.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import BasePermission

READ_SCORES = "detection.view_transactionscore"
READ_CUSTOMERS = "transactions.view_customer"
READ_MODEL_VERSIONS = "detection.view_modelversion"
STORE_PERMISSION = "transactions.add_transaction"


def may_store_transactions(user) -> bool:
    """Whether `user` may save posted transactions (the add-transaction model permission)."""
    return user.has_perm(STORE_PERMISSION)


def permission_for(*perms: str) -> type[BasePermission]:
    """A DRF permission class that asks the same Django model permissions the admin asks for an action.

    Anonymous requests are refused as not logged in (401); a logged-in user without them gets 403.
    """

    class HasModelPermissions(BasePermission):
        required = perms

        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(self.required))

    HasModelPermissions.__name__ = "Has_" + "_".join(perm.split(".")[-1] for perm in perms)
    return HasModelPermissions


def seed_read(*perms: str) -> type[BasePermission]:
    """`permission_for(*perms)`, or anyone when settings.API_ALLOW_ANONYMOUS_READ is on (off by default)."""
    base = permission_for(*perms)

    class SeedRead(base):
        def has_permission(self, request, view) -> bool:
            return bool(settings.API_ALLOW_ANONYMOUS_READ or super().has_permission(request, view))

    SeedRead.__name__ = "SeedRead_" + base.__name__
    return SeedRead
