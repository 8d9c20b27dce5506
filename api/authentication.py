"""Token authentication for the API: knox's, without reading every token of the user per request."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.models import AuthToken
from knox.signals import token_expired


class TokenAuthentication(KnoxTokenAuthentication):
    """django-rest-knox's token check (digest, expiry, auto refresh, inactive users refused).

    knox deletes the user's other expired tokens on every request, which loads all of that user's
    tokens each time: one more query, and a cost that grows with each login the user made in the
    last TOKEN_TTL. Here a request checks only its own token; `delete_expired_tokens` runs at each
    login instead, so expired tokens are still removed.
    """

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


def delete_expired_tokens() -> int:
    """Delete every expired API token; returns how many."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of `TokenAuthentication`: knox's (a bearer-style "Token ..." header)."""

    target_class = "api.authentication.TokenAuthentication"
