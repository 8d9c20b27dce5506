"""Token authentication for the API: knox's, without reading every token of the user per request."""

from __future__ import annotations

import binascii
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.db import router
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from core.prepared import TEXT_MARKER, PreparedQuery


def _names(model) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


_TOKEN_FIELDS = _names(AuthToken)
_USER_FIELDS = _names(get_user_model())
# The tokens whose key is `key`, each with its user: knox's select_related query, compiled once.
_TOKENS_BY_KEY = PreparedQuery(
    AuthToken,
    lambda key: AuthToken.objects.filter(token_key=key).values_list(
        *_TOKEN_FIELDS, *(f"user__{name}" for name in _USER_FIELDS)
    ),
    TEXT_MARKER,
)


def tokens_with_key(key: str) -> list[AuthToken]:
    """The API tokens whose `token_key` is `key`, each with its user loaded (as select_related does)."""
    database = router.db_for_read(AuthToken)
    user_model, user_field = get_user_model(), AuthToken._meta.get_field("user")
    tokens = []
    for row in _TOKENS_BY_KEY.rows(key):
        token = AuthToken.from_db(database, _TOKEN_FIELDS, row[: len(_TOKEN_FIELDS)])
        user_field.set_cached_value(token, user_model.from_db(database, _USER_FIELDS, row[len(_TOKEN_FIELDS) :]))
        tokens.append(token)
    return tokens


class TokenAuthentication(KnoxTokenAuthentication):
    """django-rest-knox's token check (digest, expiry, auto refresh, inactive users refused).

    knox deletes the user's other expired tokens on every request, which loads all of that user's
    tokens each time: one more query, and a cost that grows with each login the user made in the
    last TOKEN_TTL. Here a request checks only its own token; `delete_expired_tokens` runs at each
    login instead, so expired tokens are still removed. The token and its user are read by a query
    compiled once (`tokens_with_key`), not built and compiled again on every request.
    """

    def authenticate_credentials(self, token: bytes):
        """knox's check, in knox's order: the tokens with the key's first characters, expired ones
        deleted, the digest compared, the expiry renewed if AUTO_REFRESH, inactive users refused."""
        msg = _("Invalid token.")
        token = token.decode("utf-8")
        for auth_token in tokens_with_key(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(msg) from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(msg)

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
