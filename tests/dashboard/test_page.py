"""The dashboard page and django-plotly-dash's endpoints through Django: login, empty states,
the `plotly_app` tag, a callback through the update endpoint, and only local assets."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from dashboard.dash_app import APP_NAME
from detection.models import ModelVersion
from detection.selectors import ranked_anomalies
from tests.dash_requests import callback_body
from transactions.services import ingest_file

pytestmark = pytest.mark.django_db

APP_URL = f"/django_plotly_dash/app/{APP_NAME}/"
LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "testserver"}
URL_PATTERN = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|((?:https?:)?//[^\s"'<>)]+)""")


def referenced_urls(text: str) -> list[str]:
    """Every src/href value and every absolute or protocol-relative URL in `text`."""
    return [match.group(1) or match.group(2) for match in URL_PATTERN.finditer(text)]


def external(urls: list[str]) -> list[str]:
    return [url for url in urls if urlparse(url).hostname not in LOCAL_HOSTS]


def test_page_and_dash_endpoints_need_a_login(client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/login/?next=/"
    for path in ("", "_dash-layout", "_dash-dependencies"):
        assert client.get(APP_URL + path).status_code == 302
    assert client.post(APP_URL + "_dash-update-component", "{}", content_type="application/json").status_code == 302


def test_empty_database_says_no_data_is_loaded(staff_client) -> None:
    html = staff_client.get("/").content.decode()
    assert "No data loaded yet" in html and "manage.py ingest_csv" in html
    assert "<iframe" not in html


def test_loaded_but_untrained_data_says_no_model_yet(staff_client, demo_csv) -> None:
    ingest_file(demo_csv)
    html = staff_client.get("/").content.decode()
    assert "No model trained yet" in html and "manage.py train_models" in html
    assert "<iframe" not in html


def test_page_shows_headline_figures_and_embeds_the_app(staff_client, trained_version: ModelVersion) -> None:
    html = staff_client.get("/").content.decode()
    metrics = trained_version.metrics
    for value in ("rows", "iso_forest_flags", "autoencoder_flags", "common_anomalies", "flagged_either"):
        assert f'<span class="value">{metrics[value]:,}</span>' in html
    assert f"v{trained_version.pk}" in html
    assert f'<iframe src="{APP_URL}"' in html


def test_plotly_app_runs_the_main_callback_through_the_update_endpoint(
    staff_client, trained_version: ModelVersion, busiest_customer: int
) -> None:
    # The pinned django-plotly-dash still renders its own tag, to the address the page's frame uses.
    request = RequestFactory().get("/")
    tag = Template("{% load plotly_dash %}{% plotly_app name=app_name %}").render(
        Context({"app_name": APP_NAME, "request": request})
    )
    assert f'src="{APP_URL}"' in tag and "<iframe" in tag
    assert f'<iframe src="{APP_URL}"' in staff_client.get("/").content.decode()
    assert staff_client.get(APP_URL).status_code == 200
    layout = staff_client.get(APP_URL + "_dash-layout").json()
    assert "top-anomalies" in json.dumps(layout)
    dependencies = staff_client.get(APP_URL + "_dash-dependencies").json()
    (main,) = [item for item in dependencies if "top-anomalies.figure" in item["output"]]

    body = callback_body(main["output"], busiest_customer, "HistFreq")
    response = staff_client.post(APP_URL + "_dash-update-component", json.dumps(body), content_type="application/json")

    assert response.status_code == 200
    payload = response.json()["response"]
    expected = ranked_anomalies(metric="HistFreq", customer_id=busiest_customer)
    bars = payload["top-anomalies"]["figure"]["data"][0]
    assert bars["customdata"] == [row["transaction_id"] for row in expected]
    assert [row["invoice_no"] for row in payload["drilldown"]["rowData"]] == [row["invoice_no"] for row in expected]


def test_page_and_app_reference_no_external_host(staff_client, trained_version: ModelVersion) -> None:
    page = staff_client.get("/").content.decode()
    index = staff_client.get(APP_URL).content.decode()
    layout = staff_client.get(APP_URL + "_dash-layout").content.decode()

    assert external(referenced_urls(page)) == []
    assert external(referenced_urls(index)) == []
    assert external(referenced_urls(layout)) == []
    scripts = re.findall(r'<script src="([^"]+)"', index)
    assert len(scripts) >= 8
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', index)
    assert styles == ["/static/dashboard/dash_app.css"]


def test_every_script_of_the_app_is_served_by_the_site(staff_client, trained_version: ModelVersion) -> None:
    index = staff_client.get(APP_URL).content.decode()
    assets = [*re.findall(r'<script src="([^"]+)"', index), "/static/dashboard/dash_app.css"]
    for url in assets:
        response = staff_client.get(url, follow=True)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 100, url


def test_customer_in_the_address_opens_the_app_with_that_customer(
    staff_client, trained_version: ModelVersion, busiest_customer: int
) -> None:
    html = staff_client.get(f"/?customer={busiest_customer}&metric=HistFreq").content.decode()
    (src,) = re.findall(r'<iframe src="([^"]+)"', html)
    assert src == f"{APP_URL}?customer={busiest_customer}&amp;metric=HistFreq"
    assert staff_client.get(src.replace("&amp;", "&")).status_code == 200

    plain = staff_client.get("/?customer=12a").content.decode()
    assert f'<iframe src="{APP_URL}"' in plain
