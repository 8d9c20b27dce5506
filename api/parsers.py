"""The API's JSON parser: DRF's, refusing what the standard library accepts but the site cannot serve.

Three inputs got past `json.load` or broke it, and ended as 500s: a lone surrogate ("\\ud800") is
valid JSON but not encodable text, so it failed later when written to the database or echoed in an
error; deep nesting raised RecursionError; and a body over DATA_UPLOAD_MAX_MEMORY_SIZE was read
whole. Each is a 400 here, naming the field (or `body`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

SURROGATE_MESSAGE = "holds a lone surrogate (such as \\ud800), which is not valid Unicode text."


class StrictJSONParser(JSONParser):
    """JSONParser with a size limit, nesting errors as 400, and no lone surrogates in keys or strings."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise ValidationError({"body": [f"is larger than the limit of {limit:,} bytes."]})
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            data = json.loads(raw.decode(encoding), parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}")
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply")
        problems = surrogate_paths(data)
        if problems:
            raise ValidationError(
                {path: [f"{'the key' if is_key else 'the value'} {SURROGATE_MESSAGE}"] for path, is_key in problems}
            )
        return data


def printable(text: str) -> str:
    """`text` with each lone surrogate written as its escape, so that it can be shown back."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def surrogate_paths(data: Any) -> list[tuple[str, bool]]:
    """The paths ("rows[0].Description", "filter_metric") of keys and strings holding a lone surrogate.

    Each comes with True when it is the key itself. Walks iteratively: parsed JSON may nest deeply.
    """
    found: list[tuple[str, bool]] = []
    pending: list[tuple[str, Any]] = [("", data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if _has_surrogate(value):
                found.append((path or "body", False))
        elif isinstance(value, dict):
            for key, item in value.items():
                name = printable(key)
                child = f"{path}.{name}" if path else name
                if _has_surrogate(key):
                    found.append((child, True))
                pending.append((child, item))
        elif isinstance(value, list):
            pending.extend((f"{path or 'body'}[{index}]", item) for index, item in enumerate(value))
    return sorted(found)
