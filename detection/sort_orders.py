"""Stored sort orders: the grid's sorts without an index, and those with one (for filtered pages deep
in them), read once per model version by a background task and kept as .npy files in the version's
artifacts folder, which every process maps (detection.grid).

One file per sort key and direction, `v<id>/sort_orders/<key>.<asc|desc>.npy`: the version's transaction
ids in the database's order for that sort (its collation, NULL placement and tiebreaker), as int32
when they fit (1.6 MB per file for 401,604 rows). A file whose length is not the version's row count
is stale (rows scored or deleted since) and is not used.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

FOLDER = "sort_orders"
WRITE_TASK = "detection.tasks.write_sort_orders"


def orders_folder(version_id: int) -> Path:
    return Path(settings.ARTIFACTS_DIR) / f"v{version_id}" / FOLDER


def order_path(version_id: int, key: str) -> Path:
    """The file of one sort: `key` is a TABLE_FIELDS key, "-" first for descending."""
    direction = "desc" if key.startswith("-") else "asc"
    return orders_folder(version_id) / f"{key.removeprefix('-')}.{direction}.npy"


def save_order(version_id: int, key: str, ids: np.ndarray) -> Path:
    """Write one sort's ids, replacing the file at once (readers see the old file or the new one)."""
    path = order_path(version_id, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    small = ids.size == 0 or int(ids.max()) < np.iinfo(np.int32).max
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        np.save(handle, ids.astype(np.int32 if small else np.int64, copy=False))
    os.replace(temporary, path)
    return path


def load_order(version_id: int, key: str) -> np.ndarray | None:
    """One sort's stored ids, mapped read-only (only the pages a slice touches are read); None when
    the sort has no file."""
    try:
        return np.load(order_path(version_id, key), mmap_mode="r")
    except (FileNotFoundError, ValueError, OSError):
        return None


def drop_orders(version_id: int | None = None) -> None:
    """Remove the stored orders of one version, or of every version (after rows were deleted)."""
    root = Path(settings.ARTIFACTS_DIR)
    folders = [orders_folder(version_id)] if version_id is not None else root.glob(f"v*/{FOLDER}")
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def queue_writing(version_id: int) -> None:
    """Queue the background task that writes a version's stored orders (detection.grid.write_sort_orders).

    A queue that cannot be reached costs only speed (the grid reads each order once per process
    instead), so it is logged, not raised. In sync mode (Q_SYNC=1) the orders are written on return.
    """
    from django_q.tasks import async_task

    sync = bool(settings.Q_CLUSTER.get("sync", False))
    try:
        async_task(WRITE_TASK, version_id, sync=sync, group=f"sort-orders-v{version_id}")
    except Exception as exc:
        logger.warning("the sort orders of v%s could not be queued: %s", version_id, exc)
