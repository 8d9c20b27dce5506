"""django-plotly-dash's routes, guarded: what reaches the Dash app is a request for a registered app
and one of its callbacks, and nothing else becomes a 500.

- `add_stateless_apps` (it writes rows) is for staff only;
- the app's page gets the CSP additions it needs (Dash's inline renderer script by its hash);
- `_dash-routes` (not implemented by django-plotly-dash) and the routes of an unregistered app are 404;
- a callback request that is not JSON, nests too deeply, holds a lone surrogate or does not match
  a registered callback's output, inputs and state is a 400, before Dash dispatches it (Dash would
  index into it unchecked). The values of the inputs are the callbacks' own to validate.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from csp.constants import SELF, UNSAFE_INLINE
from dash._utils import split_callback_id
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern
from django_plotly_dash import urls as dash_urls
from django_plotly_dash.dash_wrapper import get_local_stateless_by_name, get_local_stateless_list

from core.json_text import surrogate_paths

from .access import VIEW_SCORES

View = Callable[..., HttpResponse]
MAIN_VIEWS = {"main", "app-main", "main--args", "app-main--args"}
ROUTES_VIEWS = {"routes", "app-routes", "routes--args", "app-routes--args"}
UPDATE_VIEWS = {"update-component", "app-update-component", "update-component--args", "app-update-component--args"}


@functools.cache
def renderer_hashes(app_name: str) -> tuple[str, ...]:
    """The CSP hashes ('sha256-...') of the inline scripts Dash writes into the app's page."""
    return tuple(get_local_stateless_by_name(app_name).as_dash_instance().csp_hashes())


def allow_dash_page(response: HttpResponse, app_name: str) -> HttpResponse:
    """Widen the site's CSP for the Dash app's own page: its renderer script, inline <style> elements."""
    response._csp_update = {"script-src": list(renderer_hashes(app_name))}
    response._csp_replace = {"style-src": [SELF, UNSAFE_INLINE]}
    return response


@functools.cache
def callback_specs(app_name: str) -> dict[str, dict[str, list[dict[str, str]]]]:
    """{output: {"inputs": [{id, property}], "state": [...]}} of each callback of the registered app."""
    instance = get_local_stateless_by_name(app_name).as_dash_instance()
    return {
        output: {"inputs": list(spec["inputs"]), "state": list(spec["state"])}
        for output, spec in instance.callback_map.items()
    }


def _pairs(items: Any) -> list[tuple[Any, Any]] | None:
    """(id, property) of an output spec, a dict or a list of dicts; None when it is neither."""
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return None
    return [(item.get("id"), item.get("property")) for item in items]


def callback_request_problem(body: Any, specs: dict[str, dict[str, list[dict[str, str]]]]) -> str | None:
    """What makes `body` not a request for one of `specs`' callbacks, or None when it is one."""
    if not isinstance(body, dict):
        return "The request must be a JSON object."
    output = body.get("output")
    if not isinstance(output, str) or output not in specs:
        return "Unknown output: not a callback of this app."
    for key in ("inputs", "state"):
        given, declared = body.get(key, []), specs[output][key]
        if _pairs(given) != [(item["id"], item["property"]) for item in declared] or not isinstance(given, list):
            return f"'{key}' must list the callback's {key} in order, each as {{id, property, value}}."
    if "outputs" in body and _pairs(body["outputs"]) != _pairs(split_callback_id(output)):
        return "'outputs' does not match 'output'."
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(item, str) for item in changed):
        return "'changedPropIds' must be a list of strings."
    return None


def _parse_body(request: HttpRequest) -> tuple[Any, str | None]:
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None, "The request must be JSON."
    except RecursionError:
        return None, "The request is nested too deeply."
    if surrogate_paths(body):
        return None, "The request holds a lone surrogate, which is not valid Unicode text."
    return body, None


def _not_found(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    raise Http404("No such Dash route.")


def guarded(view: View, name: str | None) -> View:
    """`view` (already behind the login django-plotly-dash puts on it) with the checks above."""
    if name == "add_stateless_apps":
        return staff_member_required(view)
    if name in ROUTES_VIEWS:
        return login_required(_not_found)

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(VIEW_SCORES):
            return view(request, *args, **kwargs)  # its login redirect or 403, before any input is read
        ident = kwargs.get("ident")
        if kwargs.get("stateless") and ident not in get_local_stateless_list():
            raise Http404("No such Dash app.")
        if name in UPDATE_VIEWS:
            body, problem = _parse_body(request)
            if problem is None and kwargs.get("stateless"):
                problem = callback_request_problem(body, callback_specs(ident))
            if problem is not None:
                return JsonResponse({"detail": problem}, status=400)
        response = view(request, *args, **kwargs)
        if name in MAIN_VIEWS and kwargs.get("stateless"):
            allow_dash_page(response, ident)
        return response

    return checked


def urlpatterns() -> tuple[list[URLPattern], str]:
    """django-plotly-dash's URL patterns, each view guarded, with their namespace (for `include`)."""
    patterns = [
        URLPattern(pattern.pattern, guarded(pattern.callback, pattern.name), pattern.default_args, pattern.name)
        for pattern in dash_urls.urlpatterns
    ]
    return patterns, dash_urls.app_name
