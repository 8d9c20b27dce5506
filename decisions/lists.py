"""Write paths for named lists (CustomerIDs, countries, stock codes, invoice numbers) and their entries.

Every change leaves an `AuditEvent` in the same database transaction, as policy changes do.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput

from . import conditions, selectors
from .audit import delete_recorded, record
from .models import ListEntry, ValueList

MAX_IMPORT_ROWS = 100_000


class ListInUse(InvalidInput):
    """A list that a published rule reads cannot be deleted (nor its kind changed)."""


# --- Lists -----------------------------------------------------------------------------------------


def create_list(*, name: str, kind: str, description: str = "", user) -> ValueList:
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors["name"] = ["must be text of 1 to 100 characters."]
    elif ValueList.objects.filter(name=name.strip()).exists():
        errors["name"] = [f"a list named {name.strip()!r} exists already."]
    if kind not in ValueList.Kind.values:
        errors["kind"] = [f"must be one of {', '.join(ValueList.Kind.values)}, not {kind!r}."]
    if errors:
        raise InvalidInput(errors=errors)
    with transaction.atomic():
        value_list = ValueList.objects.create(name=name.strip(), kind=kind, description=description[:255])
        record(
            actor=user,
            action="create",
            obj=value_list,
            summary=f"list '{value_list.name}'",
            after={"name": value_list.name, "kind": kind},
        )
    return value_list


def delete_list(*, value_list: ValueList, user) -> None:
    """Delete a list and its entries; refused (ListInUse, naming the rules) while a published rule reads it."""
    using = selectors.published_rules_using(value_list)
    if using:
        names = ", ".join(f"'{rule.name}'" for rule in using)
        raise ListInUse(errors={"list": [f"'{value_list.name}' is used by the published rules {names}."]})
    before = {
        "name": value_list.name,
        "kind": value_list.kind,
        "entries": list(value_list.entries.values_list("value", flat=True)),
    }
    delete_recorded(value_list, user=user, summary=f"list '{value_list.name}'", before=before)


def add_list_entries(
    *, value_list: ValueList, values: Iterable[Any], user, expires_at: datetime | None = None, source: str = "api"
) -> int:
    """Add `values` to the list (typed as its kind; ones already there are skipped); return how many were new.

    Raises InvalidInput naming each bad value ("values[3]") and adds nothing then.
    """
    typed: dict[str, None] = {}
    errors: dict[str, list[str]] = {}
    for index, value in enumerate(values):
        try:
            typed[str(conditions.list_value(value_list.kind, value))] = None
        except ValueError as exc:
            errors[f"values[{index}]"] = [str(exc)]
    if errors:
        raise InvalidInput(errors=errors)
    if not typed:
        raise InvalidInput(errors={"values": ["must hold at least one value."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput(errors={"expires_at": ["must be in the future."]})
    adder = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        existing = set(value_list.entries.filter(value__in=list(typed)).values_list("value", flat=True))
        new = [value for value in typed if value not in existing]
        ListEntry.objects.bulk_create(
            ListEntry(list=value_list, value=value, added_by=adder, expires_at=expires_at) for value in new
        )
        record(
            actor=user,
            action="import" if source == "csv" else "create",
            obj=value_list,
            summary=f"{len(new)} entries added to '{value_list.name}' ({source})",
            after={"added": new[:1000], "expires_at": expires_at.isoformat() if expires_at else None},
        )
    return len(new)


def import_list_csv(*, value_list: ValueList, text: str, user, expires_at: datetime | None = None) -> int:
    """Add the values of a CSV's first column (a header naming the kind, or "value", is skipped)."""
    reader = csv.reader(io.StringIO(text))
    values = [row[0].strip() for row in reader if row and row[0].strip()]
    if values and values[0].lower() in {"value", value_list.kind.lower(), "customerid", "country", "stockcode"}:
        values = values[1:]
    if len(values) > MAX_IMPORT_ROWS:
        raise InvalidInput(errors={"file": [f"at most {MAX_IMPORT_ROWS:,} values per import."]})
    try:
        return add_list_entries(value_list=value_list, values=values, user=user, expires_at=expires_at, source="csv")
    except InvalidInput as exc:
        # name the CSV line (values[i] is line i + 1, or + 2 with a header) rather than the index
        raise InvalidInput(errors={"file": [f"{key}: {'; '.join(msgs)}" for key, msgs in exc.errors.items()]})


def remove_list_entry(*, entry: ListEntry, user) -> None:
    delete_recorded(
        entry,
        user=user,
        summary=f"entry {entry.value!r} of '{entry.list.name}'",
        before={"value": entry.value, "expires_at": entry.expires_at.isoformat() if entry.expires_at else None},
        audited=entry.list,
    )
