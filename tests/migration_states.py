"""Migrating the test database to a given state, for tests of data migrations."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str]]):
    """Migrate the database to `targets` ((app, migration) pairs); return that state's apps."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest():
    """Migrate the database forward to every app's latest migration; return that state's apps."""
    return migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
