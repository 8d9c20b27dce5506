"""API tokens (django-rest-knox): checking a username and password through Django's authenticate()
(so django-axes counts and locks out failures) and issuing an expiring token."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import exceptions

from core.lockout import LOCKED_OUT

from .authentication import delete_expired_tokens

BAD_CREDENTIALS = "Unable to log in with provided credentials."


def log_in(request: HttpRequest, *, username: str, password: str):
    """The active user with these credentials.

    Raises ValidationError (400) for wrong credentials or an inactive user, Throttled (429) while
    axes has locked this username and address out (even with the right password).
    """
    user = authenticate(request=request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        seconds = settings.AXES_COOLOFF_TIME.total_seconds()
        raise exceptions.Throttled(wait=seconds, detail=LOCKED_OUT.format(minutes=max(1, int(seconds // 60))))
    if user is None:
        raise exceptions.ValidationError({"body": [BAD_CREDENTIALS]})
    return user


def issue_token(request: HttpRequest, user) -> tuple[str, datetime]:
    """A new token for `user` and when it expires (settings.REST_KNOX["TOKEN_TTL"] from now).

    Sends user_logged_in, as a session login does: it records last_login and resets axes' count.
    Expired tokens of every user are deleted here (authentication.TokenAuthentication checks only
    the presented one).
    """
    delete_expired_tokens()
    instance, token = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return token, instance.expiry
