"""Checks on parsed JSON that the standard library lets through: lone surrogates in keys and strings.

`json.loads('"\\ud800"')` succeeds, but the string cannot be encoded as UTF-8, so it fails later,
when written to the database or echoed in a response. Callers refuse such input up front.
"""

from __future__ import annotations

from typing import Any


def printable(text: str) -> str:
    """`text` with each lone surrogate written as its escape, so that it can be shown back."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a lone surrogate (and so cannot be encoded as UTF-8)."""
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
            if has_surrogate(value):
                found.append((path or "body", False))
        elif isinstance(value, dict):
            for key, item in value.items():
                name = printable(key)
                child = f"{path}.{name}" if path else name
                if has_surrogate(key):
                    found.append((child, True))
                pending.append((child, item))
        elif isinstance(value, list):
            pending.extend((f"{path or 'body'}[{index}]", item) for index, item in enumerate(value))
    return sorted(found)
