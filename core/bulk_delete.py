"""Bulk deletes that stay one statement per table.

Django's `QuerySet.delete()` loads every row into a model instance as soon as another table points
to the model (here: a decision per score row), then deletes the dependants in batches of ids:
pruning one model version's 401,604 score rows took 42 s and 4,824 queries on SQLite. When every
relation to the model cascades to a table that Django itself could delete in one statement (no
signals, no further dependants), `delete_in_bulk` issues one `DELETE ... WHERE ... IN (SELECT ...)`
per dependant table and one for the rows: the same rows go, in the same transaction.
"""

from __future__ import annotations

from django.db import models, transaction
from django.db.models.deletion import CASCADE, Collector
from django.db.models.signals import post_delete, pre_delete

from .bulk_load import large_sqlite_cache


def _one_statement_dependants(queryset: models.QuerySet) -> list[models.QuerySet] | None:
    """The dependant rows of `queryset`, one queryset per cascading relation, or None when a relation
    needs Django's row-by-row collector (another on_delete, signals, deeper dependants)."""
    model = queryset.model
    if pre_delete.has_listeners(model) or post_delete.has_listeners(model):
        return None
    collector = Collector(using=queryset.db)
    dependants = []
    for relation in model._meta.related_objects:
        if relation.many_to_many or relation.on_delete is not CASCADE:
            return None
        related = relation.related_model._base_manager.using(queryset.db).filter(
            **{f"{relation.field.name}__in": queryset.values("pk")}
        )
        if not collector.can_fast_delete(related):
            return None
        dependants.append(related)
    if model._meta.many_to_many or model._meta.private_fields:
        return None
    return dependants


def delete_in_bulk(queryset: models.QuerySet) -> int:
    """Delete the rows of `queryset` and what cascades from them; return the number of its own rows deleted."""
    dependants = _one_statement_dependants(queryset)
    if dependants is None:
        return queryset.delete()[1].get(queryset.model._meta.label, 0)
    with transaction.atomic(using=queryset.db), large_sqlite_cache():
        for related in dependants:
            related._raw_delete(related.db)
        return queryset._raw_delete(queryset.db)
