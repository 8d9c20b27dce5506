"""Fuzzing the API from its own OpenAPI schema: no 5xx, and every response body and content type
matches what the schema documents for its status.

A bounded, derandomised run (MAX_EXAMPLES per operation) so it fits CI's time budget. Undocumented
status codes (schemathesis' status_code_conformance) are not checked: 404 from /api/models/{id} and
/api/jobs/{id} is answered but not listed in the schema. Each case gets a new token, so the logout
operations revoke only their own.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

MAX_EXAMPLES = 15


def _served_schema():
    """The schema /api/schema/ serves (generated without a request), bound to the site's WSGI application."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(generated)))
    loaded.app = get_wsgi_application()
    return loaded


@pytest.fixture
def keep_test_connection():
    """Stop Django closing the database connection after each request, as its test client does:
    the WSGI application is called directly here, and the test's transaction lives on that connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_admin(trained_version, django_user_model):
    return django_user_model.objects.create_superuser("fuzz-admin", "fuzz@example.com", "fuzz-pass-123456")


# Loaded at collection: schemathesis' fixture-based lazy loading does not work under pytest 9.
schema = _served_schema()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_within_its_schema_and_never_5xx(case, fuzz_admin, keep_test_connection) -> None:
    token = AuthToken.objects.create(user=fuzz_admin)[1]
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )
