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

from core.json_text import surrogate_paths

SURROGATE_MESSAGE = "holds a lone surrogate (such as \\ud800), which is not valid Unicode text."


class StrictJSONParser(JSONParser):
    """JSONParser with a size limit, nesting errors as 400, and no lone surrogates in keys or strings."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = b"" if stream is None else stream.read() if limit is None else stream.read(limit + 1)
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
