"""Every API route, found from the URL configuration, refuses an anonymous caller (401) and a logged-in
user without permissions (403) for every method, before reading any input. A new endpoint that
forgets its permission fails here without anyone adding it to a list."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from .conftest import client_for, make_user

pytestmark = pytest.mark.django_db

PUBLIC = {"api/health", "api/schema/", "api/docs/", "api/auth/token"}  # open by design (tests/api/test_access.py)
OWN_TOKEN = {"/api/auth/logout", "/api/auth/logoutall"}  # any token holder revokes their own tokens: no permission
METHODS = ("get", "post", "put", "patch", "delete")
CONVERTERS = {"int": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000001", "path": "x"}


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    found = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _routes(entry, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def api_routes() -> list[str]:
    """Every route of the API (the seed's /customer_ids and everything under api/), converters filled in."""
    routes = [route.lstrip("^").rstrip("$") for route in _routes(get_resolver())]
    api = sorted({route for route in routes if route.startswith("api/") or route == "customer_ids"} - PUBLIC)
    filled = [re.sub(r"<(?:(\w+):)?\w+>", lambda m: CONVERTERS[m.group(1) or "str"], route) for route in api]
    return ["/" + route for route in filled]


def test_the_route_list_covers_every_api_area() -> None:
    routes = api_routes()
    for area in ("/customer_ids", "/api/anomalies", "/api/score", "/api/cases", "/api/webhooks", "/api/policies"):
        assert any(route.startswith(area) for route in routes), area
    assert len(routes) >= 25


@pytest.mark.parametrize("role, status", [("anonymous", 401), ("plain", 403), ("staff", 403)])
def test_every_route_and_method_refuses_a_caller_without_permissions(role: str, status: int) -> None:
    client = client_for(make_user(role))
    answers = {
        f"{method.upper()} {route}": getattr(client, method)(route, {"customer_id": "1"}, format="json").status_code
        for route in api_routes()
        if role == "anonymous" or route not in OWN_TOKEN
        for method in METHODS
    }
    assert {call: code for call, code in answers.items() if code != status} == {}
