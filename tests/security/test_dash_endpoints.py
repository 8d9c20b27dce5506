"""The Dash endpoints as an attacker would call them: bad input is a 4xx or a placeholder, never a 500.

Ends with a derandomised fuzz pass: random JSON-ish values for every input of every registered
callback (read from the app's callback map), and random request envelopes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django_plotly_dash.models import StatelessApp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.dash_app import APP_NAME, NOT_A_CUSTOMER
from detection.fields import TABLE_FIELDS
from tests.dash_requests import SPECS, callback_body

pytestmark = pytest.mark.django_db

APP = f"/django_plotly_dash/app/{APP_NAME}/"
UPDATE = APP + "_dash-update-component"
RANKING = "..top-anomalies.figure...drilldown.rowData...ranking-message.children.."
CHOICES = "..customer.options...customer.value...metric.value.."


@pytest.fixture(autouse=True)
def _no_static_finders(settings):
    """WhiteNoise would list django-plotly-dash's finder (which fails at it); no static files are served here."""
    settings.WHITENOISE_USE_FINDERS = False


def post(client: Client, body: Any):
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post(UPDATE, text, content_type="application/json")


def response_of(response) -> dict[str, Any]:
    assert response.status_code == 200, response.content[:300]
    return response.json()["response"]


@pytest.mark.parametrize("customer", ["abc", [1], {"a": 1}, True, 1e30, 10**30, -5, "²", "15311.5"])
def test_a_customer_that_is_no_customer_id_shows_a_notice(trained_version, reader_client, customer) -> None:
    payload = response_of(post(reader_client, callback_body(RANKING, customer, "TotalSpent")))

    assert payload["drilldown"]["rowData"] == []
    assert NOT_A_CUSTOMER in json.dumps(payload["ranking-message"])


def test_an_unhashable_metric_falls_back_to_the_default(trained_version, reader_client) -> None:
    payload = response_of(post(reader_client, callback_body(RANKING, None, ["TotalSpent"])))

    assert "by TotalSpent" in json.dumps(payload["ranking-message"])


def test_customer_options_ignore_a_selected_value_that_is_no_customer_id(trained_version, reader_client) -> None:
    body = callback_body(CHOICES, ["1"], "?customer=x", state=({"x": 1},))

    options = response_of(post(reader_client, body))["customer"]["options"]

    assert all(isinstance(option["value"], int) for option in options)


@pytest.mark.parametrize(
    "grid_request",
    [
        {"startRow": 1e30, "endRow": 1e30 + 100},
        {"startRow": 10**30},
        {"startRow": -1},
        {"startRow": "0", "endRow": "100"},
        {"startRow": 0, "endRow": 100, "sortModel": [{"sort": "asc"}]},
        {"startRow": 0, "endRow": 100, "sortModel": [{"colId": ["x"], "sort": "asc"}]},
        {"startRow": 0, "endRow": 100, "sortModel": {"colId": "anomaly_score"}},
        {"startRow": 0, "endRow": 100, "filterModel": [{"anomaly_score": {}}]},
        {"startRow": 0, "endRow": 100, "filterModel": {"anomaly_score": []}},
        {"startRow": 0, "filterModel": {"anomaly_score": {"filterType": "number", "type": "equals", "filter": 10**30}}},
        {"startRow": 0, "filterModel": {"quantity": {"filterType": "number", "type": "inRange", "filter": 1}}},
        {"startRow": 0, "filterModel": {"country": {"filterType": "text", "type": "contains", "filter": {"a": 1}}}},
        {"startRow": 0, "filterModel": {"country": {"filterType": "text", "type": ["contains"], "filter": "x"}}},
        [{"startRow": 0}],
        "startRow",
    ],
)
def test_a_malformed_grid_request_gets_an_empty_block(trained_version, reader_client, grid_request) -> None:
    payload = response_of(post(reader_client, callback_body("score-table.getRowsResponse", grid_request)))

    assert payload["score-table"]["getRowsResponse"] == {"rowData": [], "rowCount": 0}


def test_a_valid_grid_request_still_gets_rows(trained_version, reader_client) -> None:
    grid_request = {"startRow": 0, "endRow": 5, "sortModel": [{"colId": "quantity", "sort": "desc"}], "filterModel": {}}

    block = response_of(post(reader_client, callback_body("score-table.getRowsResponse", grid_request)))

    assert len(block["score-table"]["getRowsResponse"]["rowData"]) == 5


@pytest.mark.parametrize(
    "clicked",
    [{"rowId": 1e30}, {"rowId": 10**30}, {"rowId": "9" * 40}, {"rowId": True}, {"rowId": "²"}, [1], "x", 5],
)
def test_a_click_on_no_transaction_shows_the_prompt(trained_version, reader_client, clicked) -> None:
    body = callback_body("transaction-detail.children", {"points": "x"}, clicked, None)

    payload = response_of(post(reader_client, body))

    assert "Click a bar or a table row" in json.dumps(payload)


@pytest.mark.parametrize(
    "body",
    [
        [callback_body("transaction-detail.children", None, None, None)],
        "[" * 100_000 + "]" * 100_000,
        "{not json",
        '{"output": "' + "\\ud800" + '"}',
        {"output": "no-such.output", "inputs": []},
        {"output": ["score-table.getRowsResponse"]},
        {"output": "score-table.getRowsResponse"},
        {"output": "score-table.getRowsResponse", "inputs": [{"id": "x", "property": "y", "value": 1}]},
        {"output": "score-table.getRowsResponse", "inputs": {"id": "score-table", "property": "getRowsRequest"}},
        {**callback_body("score-table.getRowsResponse", {"startRow": 0}), "outputs": "x"},
        {**callback_body("score-table.getRowsResponse", {"startRow": 0}), "changedPropIds": "x"},
        {"output": RANKING},
        {**callback_body(CHOICES, None, None, state=(None,)), "state": [[]]},
    ],
)
def test_a_request_that_fits_no_callback_is_400(db, reader_client, body) -> None:
    response = post(reader_client, body)

    assert response.status_code == 400
    assert "detail" in response.json()


def test_dash_routes_is_404(db, reader_client) -> None:
    assert reader_client.get(APP + "_dash-routes").status_code == 404


@pytest.mark.parametrize("path", ["_dash-layout", "_dash-dependencies", "", "_dash-update-component"])
def test_an_unknown_app_is_404(db, reader_client, path) -> None:
    response = reader_client.get(f"/django_plotly_dash/app/NoSuchApp/{path}")

    assert response.status_code == 404


def test_an_unknown_app_creates_no_row(db, reader_client) -> None:
    reader_client.get("/django_plotly_dash/app/NoSuchApp/_dash-layout")

    assert not StatelessApp.objects.filter(app_name="NoSuchApp").exists()


@pytest.mark.parametrize("who", ["anonymous", "a reader, not staff"])
def test_add_stateless_apps_is_for_staff_only(db, reader_client, who) -> None:
    client = Client() if who == "anonymous" else reader_client
    StatelessApp.objects.all().delete()

    response = client.get("/django_plotly_dash/add_stateless_apps")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not StatelessApp.objects.exists()


def test_staff_may_add_stateless_apps(db, superuser_client) -> None:
    response = superuser_client.get("/django_plotly_dash/add_stateless_apps")

    assert response.status_code == 302
    assert StatelessApp.objects.filter(app_name=APP_NAME).exists()


@pytest.mark.parametrize("customer", ["%C2%B2", "9" * 30, "abc", "-1"])
def test_dashboard_page_ignores_a_customer_that_is_no_customer_id(trained_version, reader_client, customer) -> None:
    response = reader_client.get(f"/?customer={customer}")

    assert response.status_code == 200


# --- Fuzz ---------------------------------------------------------------------------------------------

FUZZ_EXAMPLES = 60
KEYS = [
    "startRow",
    "endRow",
    "sortModel",
    "filterModel",
    "colId",
    "sort",
    "filterType",
    "type",
    "filter",
    "filterTo",
    "rowId",
    "points",
    "customdata",
    *TABLE_FIELDS,
]
WORDS = ["number", "text", "inRange", "equals", "contains", "true", "desc", "asc", "\ud800", "12347", "1e30", *KEYS]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**30, -(10**30), 2**63, 1e30, -1e30, float("inf"), float("nan")])
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(WORDS)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=12,
)
ENVELOPE_KEYS = ["output", "outputs", "inputs", "state", "changedPropIds"]
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.parametrize("output", list(SPECS))
def test_fuzzed_callback_inputs_never_get_a_5xx(trained_version, reader_client, output) -> None:
    spec = SPECS[output]

    @FUZZ_SETTINGS
    @given(values=st.tuples(*[json_values] * len(spec["inputs"])), state=st.tuples(*[json_values] * len(spec["state"])))
    def probe(values: tuple, state: tuple) -> None:
        response = post(reader_client, callback_body(output, *values, state=state))
        assert response.status_code < 500, response.content[:300]

    probe()


@FUZZ_SETTINGS
@given(body=json_values | st.dictionaries(st.sampled_from(ENVELOPE_KEYS) | st.sampled_from(list(SPECS)), json_values))
def test_fuzzed_request_envelopes_never_get_a_5xx(db, reader_client, body) -> None:
    assert post(reader_client, body).status_code < 500
