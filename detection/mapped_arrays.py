"""Arrays saved one per uncompressed `.npy` file, each recorded as an artifact of its own ({path,
sha256} under "<group>.<name>"), and loaded memory-mapped read-only.

A mapped array costs a process no memory until it is read, and then only the pages read, which the
kernel shares between processes and may drop: a serving worker that reads one customer's rows of a
400,000-row history keeps a few pages of it, not the whole columns. Every file's sha256 is checked
before it is mapped (`estimators.verified_path`: read in 1 MiB blocks, so the check leaves the file
in the page cache, not in the process). Numbers and fixed-width strings only: `allow_pickle=False`
on save and load, so an object array can neither be written nor read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .errors import ArtifactError
from .estimators import file_sha256, verified_path


def artifact_name(group: str, name: str) -> str:
    return f"{group}.{name}"


def save_arrays(arrays: Mapping[str, np.ndarray], folder: Path, group: str) -> dict[str, dict[str, str]]:
    """Write each array to `folder`/`group`/<name>.npy; return their artifact records by artifact name."""
    target = folder / group
    target.mkdir(parents=True, exist_ok=True)
    records = {}
    for name, values in arrays.items():
        path = target / f"{name}.npy"
        np.save(path, np.ascontiguousarray(values), allow_pickle=False)
        records[artifact_name(group, name)] = {"path": str(path), "sha256": file_sha256(path)}
    return records


def load_arrays(artifacts: Mapping[str, Mapping[str, str]], group: str, names: Iterable[str]) -> dict[str, np.ndarray]:
    """Map the arrays `names` of `group` read-only after checking each file's sha256; raise
    ArtifactError when one is not recorded, missing, changed or not a plain array."""
    return {name: mapped(verified_path(artifacts, artifact_name(group, name))) for name in names}


def mapped(path: Path) -> np.ndarray:
    """The array of a verified .npy file, memory-mapped read-only (read whole when it is empty: an
    empty array cannot be mapped)."""
    try:
        values = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        try:
            values = np.load(path, allow_pickle=False)
        except ValueError:
            raise ArtifactError(f"model artifact at {path} is not a plain array: {exc}") from exc
        if values.size:
            raise ArtifactError(f"model artifact at {path} cannot be mapped: {exc}") from exc
    return np.asarray(values)  # a plain ndarray view of the mapping (numpy's memmap subclass aside)
