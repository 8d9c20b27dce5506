"""Token login and logout endpoints (/api/auth/...): throttled per client address and per username."""

from __future__ import annotations

import hashlib

from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.views import LogoutAllView, LogoutView
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .authentication import TokenAuthentication
from .parsers import StrictJSONParser
from .serializers import ErrorSerializer
from .throttling import SlicedRateThrottle
from .tokens import issue_token, log_in


class LoginAddressThrottle(SlicedRateThrottle):
    """Token logins per client address (the "login" rate, API_LOGIN_RATE)."""

    scope = "login"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(SlicedRateThrottle):
    """Token logins per submitted username, whatever the address (the "login_username" rate)."""

    scope = "login_username"

    def get_cache_key(self, request, view) -> str | None:
        data = request.data
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or not username:
            return None
        ident = hashlib.sha256(username.casefold().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    expiry = serializers.DateTimeField(help_text="When the token stops working (TOKEN_TTL_HOURS after login).")


TOO_MANY = OpenApiResponse(
    ErrorSerializer, description="Too many logins from this address or for this username, or locked out."
)


class TokenLoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginAddressThrottle, LoginUsernameThrottle]
    parser_classes = [StrictJSONParser, FormParser]

    @extend_schema(
        summary="Log in for an API token",
        description=(
            "Exchanges a username and password for a token that expires (`expiry`); it is also revoked "
            "when the password changes or the account is deactivated or loses staff, a group or a "
            "permission. Throttled per address and per username (429); repeated failures lock the "
            "username from that address out for a while, the admin login too."
        ),
        request=LoginSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Wrong username or password."),
            429: TOO_MANY,
        },
    )
    def post(self, request):
        credentials = LoginSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        user = log_in(request._request, **credentials.validated_data)
        token, expiry = issue_token(request._request, user)
        return Response(TokenSerializer({"token": token, "expiry": expiry}).data)


@extend_schema(summary="Revoke this token", request=None, responses={204: None})
class TokenLogoutApi(LogoutView):
    authentication_classes = (TokenAuthentication,)


@extend_schema(summary="Revoke every token of this user", request=None, responses={204: None})
class TokenLogoutAllApi(LogoutAllView):
    authentication_classes = (TokenAuthentication,)
