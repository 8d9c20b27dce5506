"""Rule conditions as data: their validation, and their compilation to a Django `Q` and to a numpy mask.

A condition is JSON, never evaluated text:

    {"all": [{"field": "anomaly_score", "op": "gte", "value": 0.995},
             {"any": [{"field": "total_spent", "op": "gt", "value": 1000},
                      {"field": "country", "op": "in_list", "value": "high-risk countries"}]}]}

- A node is `{"all": [...]}` or `{"any": [...]}` (non-empty, nested up to MAX_DEPTH) or a leaf
  `{"field", "op", "value"}`.
- Fields are the score-field registry's stored and listed keys (`detection.fields`), but its JSON lists.
- Operators depend on the field's type (`OPERATORS`); `contains` ignores case.
  `in_list` / `not_in_list` name a list (`ValueList.name`) of the field's kind: customer_id, country,
  stock_code or invoice_no.

`validate_condition` types the values or raises `InvalidCondition` naming each bad part
("condition.all[1].value"). `compile_condition` builds both forms from the same leaves, so the `Q`
(backtests over stored rows) and the mask (batch deciding, /api/score) cannot drift (tested).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Q
from django.utils import timezone

from core.errors import InvalidInput
from detection import fields as score_fields

MAX_DEPTH = 5
MAX_LEAVES = 50
MAX_VALUES = 1_000
LIST_FIELDS = ("customer_id", "country", "stock_code", "invoice_no")  # = ValueList.Kind values

_COMPARE = ("eq", "ne", "gt", "gte", "lt", "lte")
_LIST_OPS = ("in_list", "not_in_list")
OPERATORS: dict[str, tuple[str, ...]] = {
    "int": (*_COMPARE, "in", "not_in"),
    "float": (*_COMPARE, "in", "not_in"),
    "bool": ("eq", "ne"),
    "text": ("eq", "ne", "in", "not_in", "contains"),
    "datetime": ("gt", "gte", "lt", "lte"),
}


def _condition_kind(key: str) -> str:
    kind = score_fields.value_kind(key)
    return "bool" if score_fields.BY_KEY[key].json == "flag01" else kind


def _condition_fields() -> dict[str, str]:
    """Field key -> its type ("int", "float", "bool", "text", "datetime"), in registry order."""
    keys = [
        f.key
        for f in score_fields.FIELDS
        if (f.has(score_fields.STORED) or f.has(score_fields.LISTED)) and f.key not in score_fields.JSON_KEYS
    ]
    return {key: _condition_kind(key) for key in keys}


FIELD_KINDS: dict[str, str] = _condition_fields()
PATHS: dict[str, str] = {key: score_fields.BY_KEY[key].path for key in FIELD_KINDS}


def operators_for(key: str) -> tuple[str, ...]:
    return OPERATORS[FIELD_KINDS[key]] + (_LIST_OPS if key in LIST_FIELDS else ())


class InvalidCondition(InvalidInput):
    """A condition that is not valid data; `errors` maps "condition.all[0].op" to its messages."""

    default_message = "Invalid condition."


# --- Validation ------------------------------------------------------------------------------------


def list_value(kind: str, value: Any) -> Any:
    """A list entry or in_list value of `kind` as rules compare it: CustomerIDs as int, others as text.

    Raises ValueError saying what is allowed.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"must be text or a number, not {value!r}")
    if kind == "customer_id":
        if isinstance(value, bool):
            raise ValueError(f"a CustomerID must be a whole number such as 15311, not {value!r}")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"a CustomerID must be a whole number such as 15311, not {value!r}")
        if not number.is_integer() or number < 1:
            raise ValueError(f"a CustomerID must be a whole number such as 15311, not {value!r}")
        return int(number)
    text = str(value).strip()
    if not text or len(text) > 64:
        raise ValueError(f"must be 1 to 64 characters, not {value!r}")
    return text


def _typed(kind: str, value: Any) -> Any:
    """`value` as a field of `kind` holds it; ValueError when it is of the wrong type."""
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number, not {value!r}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise ValueError(f"must be a number, not {value!r}")
        return float(value)
    if kind == "bool":
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise ValueError(f"must be true or false (or 1 / 0), not {value!r}")
    if kind == "text":
        if not isinstance(value, str) or not value:
            raise ValueError(f"must be non-empty text, not {value!r}")
        return value
    if kind == "datetime":
        if not isinstance(value, str):
            raise ValueError(f"must be an ISO 8601 date-time such as 2011-12-09T12:00:00+00:00, not {value!r}")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"must be an ISO 8601 date-time such as 2011-12-09T12:00:00+00:00, not {value!r}")
        return (parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)).isoformat()
    raise AssertionError(kind)


class _Validator:
    def __init__(self, lists: Mapping[str, str]) -> None:
        self.lists = lists  # list name -> kind
        self.errors: dict[str, list[str]] = {}
        self.leaves = 0

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def node(self, node: Any, path: str, depth: int) -> Any:
        if not isinstance(node, dict):
            self.error(path, 'must be an object: {"all": [...]}, {"any": [...]} or {"field", "op", "value"}.')
            return None
        if "field" in node or "op" in node or "value" in node:
            return self.leaf(node, path)
        if len(node) != 1 or next(iter(node)) not in ("all", "any"):
            self.error(path, f'must have exactly one key, "all" or "any", not {sorted(node)}.')
            return None
        combinator, children = next(iter(node.items()))
        here = f"{path}.{combinator}"
        if depth >= MAX_DEPTH:
            self.error(here, f"nests too deep: at most {MAX_DEPTH} levels of all/any.")
            return None
        if not isinstance(children, list) or not children:
            self.error(here, "must be a non-empty list of conditions.")
            return None
        return {combinator: [self.node(child, f"{here}[{i}]", depth + 1) for i, child in enumerate(children)]}

    def leaf(self, node: dict, path: str) -> Any:
        self.leaves += 1
        unknown = sorted(set(node) - {"field", "op", "value"})
        for key in unknown:
            self.error(f"{path}.{key}", "unknown key; a condition has field, op and value.")
        for key in ("field", "op", "value"):
            if key not in node:
                self.error(f"{path}.{key}", "This field is required.")
        if unknown or len(node) < 3:
            return None
        key, op, value = node["field"], node["op"], node["value"]
        if key not in FIELD_KINDS:
            self.error(f"{path}.field", f"unknown field {key!r}; allowed: {', '.join(FIELD_KINDS)}.")
            return None
        if op not in operators_for(key):
            self.error(f"{path}.op", f"unknown operator {op!r} for {key}; allowed: {', '.join(operators_for(key))}.")
            return None
        try:
            typed = self.value(key, op, value)
        except ValueError as exc:
            self.error(f"{path}.value", str(exc))
            return None
        return {"field": key, "op": op, "value": typed}

    def value(self, key: str, op: str, value: Any) -> Any:
        kind = FIELD_KINDS[key]
        if op in _LIST_OPS:
            if not isinstance(value, str) or value not in self.lists:
                known = ", ".join(sorted(self.lists)) or "none yet"
                raise ValueError(f"must name an existing list, not {value!r}; lists: {known}.")
            if self.lists[value] != key:
                raise ValueError(f"list {value!r} holds {self.lists[value]} values, not {key}.")
            return value
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"must be a non-empty list of values for {op}.")
            if len(value) > MAX_VALUES:
                raise ValueError(f"at most {MAX_VALUES} values; use a list (in_list) for more.")
            return [_typed(kind, item) for item in value]
        if op == "contains":
            if not isinstance(value, str) or not value:
                raise ValueError(f"must be non-empty text, not {value!r}")
            return value
        return _typed(kind, value)


def validate_condition(condition: Any, *, lists: Mapping[str, str]) -> dict:
    """Return `condition` with typed values; raise InvalidCondition naming every problem.

    `lists` maps each existing list's name to its kind (in_list values must name one of the field's kind).
    """
    validator = _Validator(lists)
    if isinstance(condition, dict) and ("field" in condition or "op" in condition):
        validator.error("condition", 'must start with {"all": [...]} or {"any": [...]}.')
        raise InvalidCondition(errors=validator.errors)
    normalized = validator.node(condition, "condition", 0)
    if validator.leaves > MAX_LEAVES:
        validator.error("condition", f"has {validator.leaves} conditions; at most {MAX_LEAVES}.")
    if validator.errors:
        raise InvalidCondition(errors=validator.errors)
    return normalized


def leaves(condition: dict) -> Iterator[dict]:
    """Every leaf {"field", "op", "value"} of a valid condition, depth first."""
    for children in condition.values():
        for child in children:
            if "field" in child:
                yield child
            else:
                yield from leaves(child)


def referenced_lists(condition: dict) -> set[str]:
    """The names of the lists a valid condition reads."""
    return {leaf["value"] for leaf in leaves(condition) if leaf["op"] in _LIST_OPS}


def fields_used(condition: dict) -> set[str]:
    return {leaf["field"] for leaf in leaves(condition)}


# --- Compilation -----------------------------------------------------------------------------------


class Columns:
    """A frame's columns as the masks compare them, each converted once however many leaves read it.

    Masks accept a DataFrame or a Columns; deciding with many rules passes one Columns to all.
    """

    def __init__(self, frame: pd.DataFrame | Mapping[str, Any]) -> None:
        self.frame = frame
        self._converted: dict[str, Any] = {}
        self.leaf_masks: dict[str, np.ndarray] = {}  # rules often share leaves (a list, a score cut)

    def __len__(self) -> int:
        return len(self.frame) if isinstance(self.frame, pd.DataFrame) else len(next(iter(self.frame.values())))

    def __getitem__(self, key: str) -> Any:
        if key not in self._converted:
            self._converted[key] = _converted(self.frame, key)
        return self._converted[key]


Mask = Callable[[pd.DataFrame | Columns], np.ndarray]
NEVER = Q(pk__isnull=True)  # a Q no row matches (an empty IN list would make the whole query empty)
ALWAYS = Q(pk__isnull=False)


@dataclass(frozen=True)
class CompiledCondition:
    """One condition as a Q over TransactionScore and as a mask over a frame of `FIELD_KINDS` columns.

    `list_hits` pairs each positive list leaf (in_list) with its own mask, for the reasons.
    """

    q: Q
    mask: Mask
    list_hits: tuple[tuple[str, str, Mask], ...] = field(default=())


def _isin(values: np.ndarray, members: frozenset | list) -> np.ndarray:
    if len(values) < 64:  # small frames (/api/score): a set lookup beats building a hash table
        members = members if isinstance(members, frozenset) else frozenset(members)
        return np.fromiter((value in members for value in values), dtype=bool, count=len(values))
    return pd.Series(values, dtype=object).isin(members).to_numpy()


def _column(frame: pd.DataFrame | Columns, key: str) -> Any:
    return frame[key] if isinstance(frame, Columns) else _converted(frame, key)


def _converted(frame: pd.DataFrame | Mapping[str, Any], key: str) -> Any:
    column = frame[key] if isinstance(frame[key], pd.Series) else pd.Series(frame[key])
    if FIELD_KINDS[key] == "datetime":
        return column  # keep pandas' tz-aware comparisons
    values = column.to_numpy()
    numeric = values.dtype == object and FIELD_KINDS[key] in ("int", "float")  # Decimal prices, None ids
    return pd.to_numeric(column).to_numpy() if numeric else values


def _leaf(leaf: dict, lists: Mapping[str, frozenset]) -> tuple[Q, Mask]:
    q, mask = _leaf_forms(leaf, lists)
    identity = json.dumps(leaf, sort_keys=True)

    def shared(frame: pd.DataFrame | Columns) -> np.ndarray:
        if not isinstance(frame, Columns):
            return mask(frame)
        if identity not in frame.leaf_masks:
            frame.leaf_masks[identity] = mask(frame)
        return frame.leaf_masks[identity]

    return q, shared


def _leaf_forms(leaf: dict, lists: Mapping[str, frozenset]) -> tuple[Q, Mask]:
    key, op, value = leaf["field"], leaf["op"], leaf["value"]
    path = PATHS[key]
    if FIELD_KINDS[key] == "datetime":
        value = pd.Timestamp(value) if op not in ("in", "not_in") else value
    if op in _LIST_OPS:
        members = lists.get(value, frozenset())
        q = Q(**{f"{path}__in": sorted(members)}) if members else NEVER
        if op == "not_in_list":
            q = ~q if members else ALWAYS
        positive = op == "in_list"
        return q, lambda frame: _isin(_column(frame, key), members) == positive
    if op in ("in", "not_in"):
        members = frozenset(value)
        q = Q(**{f"{path}__in": list(value)})
        positive = op == "in"
        return (q if positive else ~q), lambda frame: _isin(_column(frame, key), members) == positive
    if op == "contains":
        needle = value.lower()
        return (
            Q(**{f"{path}__icontains": value}),
            lambda frame: (
                pd.Series(_column(frame, key), dtype=object).str.lower().str.contains(needle, regex=False).to_numpy()
            ),
        )
    if op == "eq":
        return Q(**{path: value}), lambda frame: np.asarray(_column(frame, key) == value)
    if op == "ne":
        return ~Q(**{path: value}), lambda frame: np.asarray(_column(frame, key) != value)
    compare = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}[op]
    return Q(**{f"{path}__{op}": value}), lambda frame: np.asarray(compare(_column(frame, key), value))


def _all(masks: list[Mask]) -> Mask:
    def mask(frame: pd.DataFrame | Columns) -> np.ndarray:
        result = np.asarray(masks[0](frame), dtype=bool)
        for other in masks[1:]:
            if not result.any():  # nothing left to narrow: the rest cannot change the answer
                break
            result = result & other(frame)
        return result

    return mask


def _any(masks: list[Mask]) -> Mask:
    def mask(frame: pd.DataFrame | Columns) -> np.ndarray:
        result = np.asarray(masks[0](frame), dtype=bool)
        for other in masks[1:]:
            if result.all():
                break
            result = result | other(frame)
        return result

    return mask


def compile_condition(condition: dict, *, lists: Mapping[str, frozenset]) -> CompiledCondition:
    """Compile a valid condition; `lists` maps list names to their active values (`list_value` typed)."""
    hits: list[tuple[str, str, Mask]] = []

    def build(node: dict) -> tuple[Q, Mask]:
        if "field" in node:
            q, mask = _leaf(node, lists)
            if node["op"] == "in_list":
                hits.append((node["value"], node["field"], mask))
            return q, mask
        combinator, children = next(iter(node.items()))
        built = [build(child) for child in children]
        q = built[0][0]
        for child_q, _ in built[1:]:
            q = (q & child_q) if combinator == "all" else (q | child_q)
        masks = [mask for _, mask in built]
        if len(masks) == 1:
            return q, masks[0]
        return q, (_all if combinator == "all" else _any)(masks)

    q, mask = build(condition)
    return CompiledCondition(q=q, mask=mask, list_hits=tuple(hits))
