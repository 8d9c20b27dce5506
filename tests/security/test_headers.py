"""Security headers: the Content-Security-Policy of each kind of page, and HSTS's opt-ins."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

DASH_APP = "/django_plotly_dash/app/AnomalyDashboard/"


@pytest.fixture(autouse=True)
def _no_static_finders(settings):
    """WhiteNoise would list django-plotly-dash's finder (which fails at it); no static files are served here."""
    settings.WHITENOISE_USE_FINDERS = False


def policy(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as {directive: [sources]}."""
    header = response["Content-Security-Policy"]
    parts = [part.split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def nonce_of(sources: list[str]) -> str | None:
    found = [source for source in sources if source.startswith("'nonce-")]
    return found[0][len("'nonce-") : -1] if found else None


@pytest.mark.parametrize("path", ["/", "/admin/", "/admin/login/", "/api/docs/", "/api/health", DASH_APP])
def test_every_page_has_a_policy_without_inline_or_eval_scripts(superuser_client, path) -> None:
    directives = policy(superuser_client.get(path))

    assert directives["default-src"] == ["'self'"]
    assert "'self'" in directives["script-src"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'self'"]
    assert directives["base-uri"] == ["'self'"]


def test_dash_app_page_allows_its_renderer_script_by_hash_only(superuser_client) -> None:
    response = superuser_client.get(DASH_APP)
    directives = policy(response)

    inline = re.findall(r'<script id="_dash-renderer"[^>]*>(.*?)</script>', response.content.decode(), re.S)
    assert inline == ["var renderer = new DashRenderer();"]
    assert directives["script-src"] == ["'self'", "'sha256-jZlsGVOhUAIcH+4PVs7QuGZkthRMgvT2n0ilH6/zTM0='"]
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]


def test_pages_outside_the_dash_app_allow_no_inline_style_elements(superuser_client) -> None:
    for path in ("/", "/admin/", "/api/docs/"):
        assert "'unsafe-inline'" not in policy(superuser_client.get(path))["style-src"], path


def test_api_docs_have_no_inline_script_and_a_nonced_style(db) -> None:
    response = Client().get("/api/docs/")
    html = response.content.decode()
    directives = policy(response)

    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", html) == []
    styles = re.findall(r"<style([^>]*)>", html)
    nonce = nonce_of(directives["style-src"])
    assert nonce and styles == [f' nonce="{nonce}"']
    script = re.findall(r'<script src="(/api/docs/\?script[^"]*)"', html)
    assert len(script) == 1
    assert Client().get(script[0].replace("&amp;", "&")).status_code == 200


def test_hsts_sends_neither_subdomains_nor_preload_unless_opted_in(settings) -> None:
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = False
    settings.SECURE_HSTS_PRELOAD = False

    assert Client().get("/api/health", secure=True)["Strict-Transport-Security"] == "max-age=3600"


def test_hsts_opt_ins_add_subdomains_and_preload(settings) -> None:
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True

    header = Client().get("/api/health", secure=True)["Strict-Transport-Security"]

    assert header == "max-age=3600; includeSubDomains; preload"
