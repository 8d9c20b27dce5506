"""JSON rendering that reuses the bytes of a payload read from data that has not changed.

/customer_ids answers every CustomerID (4,372 on the real data, ~25 KB of JSON): encoding them was
the largest single leaf of a worker's CPU under load (bench/load.py, py-spy). The ids are reused by
a process until the customers change (`transactions.customer_list`), and so is their JSON here.
"""

from __future__ import annotations

import threading
from typing import Any

from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

_lock = threading.Lock()
_rendered: dict[type, tuple[tuple, bytes]] = {}  # per view class: (what was rendered, the bytes)


class ReusedJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer; when the view sets `data_token` (an object that stands for the data: a new
    one whenever the data may differ), a 200 answer's bytes for that token and the same media type
    (its indent) are rendered once and reused."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        context = renderer_context or {}
        view, response = context.get("view"), context.get("response")
        token = getattr(view, "data_token", None)
        if token is None or response is None or response.status_code != 200:
            return super().render(data, accepted_media_type, renderer_context)
        key = (token, accepted_media_type, self.get_indent(accepted_media_type, context))
        with _lock:
            kept = _rendered.get(type(view))
        if kept is not None and kept[0][0] is token and kept[0][1:] == key[1:]:
            return kept[1]
        body = super().render(data, accepted_media_type, renderer_context)
        with _lock:
            _rendered[type(view)] = (key, body)
        return body


def with_reused_json() -> list[type]:
    """The default renderer classes with ReusedJSONRenderer in place of JSONRenderer."""
    return [ReusedJSONRenderer if cls is JSONRenderer else cls for cls in api_settings.DEFAULT_RENDERER_CLASSES]
