"""Revoking a user's API tokens (django-rest-knox) when the account's trust changes.

A token is deleted when its user's password changes, the account is deactivated, loses staff or
superuser status, or leaves a group or loses a permission. Permissions are also checked on every
request; revoking the tokens makes the holder log in again under the new terms. Bulk
`QuerySet.update()` sends no signals: change users through `save()` (as the admin does).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_save, pre_save
from knox.models import AuthToken

# User fields whose change revokes the tokens: any new password hash (None), or a flag leaving True.
TRUST_FIELDS: dict[str, bool | None] = {"password": None, "is_active": True, "is_staff": True, "is_superuser": True}


def revoke_tokens(user_ids: set[int] | list[int]) -> int:
    """Delete every API token of these users; returns how many were deleted."""
    deleted, _ = AuthToken.objects.filter(user_id__in=list(user_ids)).delete()
    return deleted


def trust_lowered(old: dict[str, Any], new: Any) -> bool:
    """Whether saving `new` over the stored values `old` changes the password or drops a privilege."""
    for field, kept in TRUST_FIELDS.items():
        before, after = old[field], getattr(new, field)
        if kept is None and before != after:
            return True
        if kept is not None and before == kept and after != kept:
            return True
    return False


def _note_trust_change(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    instance._revoke_tokens = False
    if raw or instance.pk is None or (update_fields is not None and not set(update_fields) & set(TRUST_FIELDS)):
        return
    old = sender.objects.filter(pk=instance.pk).values(*TRUST_FIELDS).first()
    instance._revoke_tokens = old is not None and trust_lowered(old, instance)


def _revoke_after_save(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if getattr(instance, "_revoke_tokens", False):
        revoke_tokens([instance.pk])
        instance._revoke_tokens = False


def _revoke_on_removal(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    """Groups or permissions taken away (from either side of the relation)."""
    if action not in ("post_remove", "post_clear"):
        return
    if not reverse:
        revoke_tokens([instance.pk])
    elif action == "post_remove":
        revoke_tokens(pk_set)
    else:  # group.user_set.clear(): the members are gone by now, so they were read before
        revoke_tokens(getattr(instance, "_members_before_clear", []))


def _members_before_clear(sender, instance, action: str, reverse: bool, **kwargs) -> None:
    if action == "pre_clear" and reverse:
        instance._members_before_clear = list(instance.user_set.values_list("pk", flat=True))


def connect() -> None:
    """Connect the handlers (called from CoreConfig.ready)."""
    user = get_user_model()
    pre_save.connect(_note_trust_change, sender=user, dispatch_uid="core.tokens.note_trust_change")
    post_save.connect(_revoke_after_save, sender=user, dispatch_uid="core.tokens.revoke_after_save")
    for through in (user.groups.through, user.user_permissions.through):
        m2m_changed.connect(_members_before_clear, sender=through, dispatch_uid=f"core.tokens.before_clear.{through}")
        m2m_changed.connect(_revoke_on_removal, sender=through, dispatch_uid=f"core.tokens.on_removal.{through}")
