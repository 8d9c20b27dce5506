"""The OpenAPI schema validates, every documented endpoint answers as documented, docs load nothing remote."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db.models import Count

from api.serializers import DrillDownRowSerializer
from detection.models import TransactionScore

from .conftest import SEED_ROW_KEYS, source_row

pytestmark = pytest.mark.django_db

# Every operation this app documents, with a valid request.
OPERATIONS = {
    ("/customer_ids", "get"): None,
    ("/api/anomalies", "post"): {"filter_metric": "TotalSpent"},
    ("/api/score", "post"): {},
    ("/api/transactions/", "get"): None,
    ("/api/models", "get"): None,
    ("/api/models/{id}", "get"): None,
    ("/api/health", "get"): None,
    ("/api/auth/token", "post"): {"username": "loader", "password": "loader-pass-123"},
}


def test_schema_validates_without_warnings(db, tmp_path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/anomalies:" in (tmp_path / "schema.yaml").read_text()


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def check_shape(schema: dict[str, Any], node: dict[str, Any], value: Any, where: str) -> None:
    """Assert `value` has the documented object keys (recursively through arrays and objects)."""
    node = resolve(schema, node)
    if node.get("type") == "array" and value:
        check_shape(schema, node["items"], value[0], f"{where}[0]")
    elif node.get("type") == "object" and "properties" in node and value is not None:
        documented = set(node["properties"])
        assert set(value) <= documented, f"{where}: undocumented keys {set(value) - documented}"
        required = {key for key in node.get("required", []) if not node["properties"][key].get("writeOnly")}
        assert required <= set(value), f"{where}: missing keys {required - set(value)}"
        for key, item in value.items():
            check_shape(schema, node["properties"][key], item, f"{where}.{key}")


def test_every_documented_endpoint_answers_as_documented(trained_version, loader_api, typical_score) -> None:
    schema = loader_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    customer = TransactionScore.objects.values("customer_id").annotate(n=Count("id")).order_by("-n")[0]["customer_id"]
    bodies = {
        "/api/anomalies": {**OPERATIONS[("/api/anomalies", "post")], "customer_id": customer},
        "/api/score": {"rows": [source_row(typical_score), source_row(typical_score, Quantity=50_000)]},
    }

    for (path, method), body in OPERATIONS.items():
        operation = schema["paths"][path][method]
        url = path.replace("{id}", str(trained_version.pk))
        if method == "post":
            response = loader_api.post(url, bodies.get(path, body), format="json")
        else:
            response = loader_api.get(url)
        documented = operation["responses"]
        assert str(response.status_code) in documented, f"{method} {path}: {response.status_code}"
        assert response.status_code == 200, f"{method} {path}: {response.content[:300]}"
        content = documented["200"]["content"]["application/json"]["schema"]
        check_shape(schema, content, response.json(), f"{method} {path}")


# The seed's drill_down_data keys, in its order: clients depend on them.
SEED_DRILL_DOWN_KEYS = [*SEED_ROW_KEYS, "RiskScore", "anomaly_score", "explanation"]


def test_drill_down_rows_are_documented_and_sent_with_the_seed_keys(trained_version, loader_api) -> None:
    customer = TransactionScore.objects.filter(is_flagged=True).values_list("customer_id", flat=True).first()
    body = {"customer_id": customer, "filter_metric": "TotalSpent"}

    rows = loader_api.post("/api/anomalies", body, format="json").json()["drill_down_data"]

    assert rows and all(list(row) == SEED_DRILL_DOWN_KEYS for row in rows)
    assert list(DrillDownRowSerializer().fields) == SEED_DRILL_DOWN_KEYS


def local_resources(html: str) -> tuple[list[str], list[str]]:
    """(every script/style/image URL the page loads, the ones not on this site)."""
    loaded = re.findall(r'<(?:script|img)[^>]*\ssrc="([^"]+)"', html)
    loaded += re.findall(r'<link[^>]*\shref="([^"]+)"', html)
    return loaded, [url for url in loaded if not url.startswith("/")]


def test_swagger_docs_page_loads_only_local_assets(db, anonymous) -> None:
    html = anonymous.get("/api/docs/").content.decode()

    loaded, remote = local_resources(html)
    assert any("swagger-ui-bundle.js" in url for url in loaded)
    assert remote == []
    assert not re.search(r"https?://", html), "no external host anywhere in the page"
    # Swagger UI's start-up script is served by the docs view itself (no inline script, for the CSP).
    (script,) = [url for url in loaded if url.startswith("/api/docs/")]
    script_text = anonymous.get(script).content.decode()
    assert '"validatorUrl": null' in script_text  # Swagger UI's default badge would load validator.swagger.io
    assert not re.search(r"https?://", script_text)
    for url in loaded:
        if url != script:
            assert finders.find(url.removeprefix(settings.STATIC_URL)), f"{url} is not a static file of this site"


def test_browsable_api_loads_only_local_assets(trained_version, api) -> None:
    html = api.get("/api/models", HTTP_ACCEPT="text/html").content.decode()

    loaded, remote = local_resources(html)
    assert any("rest_framework" in url for url in loaded)
    assert remote == []
