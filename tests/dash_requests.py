"""Callback requests to the dashboard's Dash app, built as Dash's renderer builds them."""

from __future__ import annotations

from typing import Any

from dashboard.dash_app import APP_NAME
from dashboard.dash_routes import callback_specs

SPECS = callback_specs(APP_NAME)


def callback_body(output: str, *values: Any, state: tuple = ()) -> dict[str, Any]:
    """A callback request as Dash's renderer sends it: `values` for the inputs, `state` for the states."""
    spec = SPECS[output]
    inputs = [{**item, "value": value} for item, value in zip(spec["inputs"], values, strict=True)]
    states = [{**item, "value": value} for item, value in zip(spec["state"], state, strict=True)]
    outputs = [{"id": part.split(".")[0], "property": part.split(".")[1]} for part in output.strip(".").split("...")]
    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": inputs,
        "state": states,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }
