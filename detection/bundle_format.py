"""Rewriting a version saved in format 1 of the bundle (the fusion arrays in `fusion.npz`, the
training rows in `history.npz`, read whole by every serving process) in format 2 (one
memory-mapped .npy file per array: bundle.py), without retraining: the same arrays, so the same
scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from django.db import transaction

from .bundle import FORMAT_VERSION, fusion_arrays, load_bundle
from .estimators import file_sha256, verified_path
from .mapped_arrays import save_arrays
from .models import ModelVersion

FORMAT_2_FUSION_FILE = "fusion_settings.npz"


def bundle_format(artifacts: dict[str, dict[str, str]]) -> int:
    """The format a version's bundle was saved in (its fusion settings'; checks the file's sha256)."""
    with np.load(verified_path(artifacts, "fusion"), allow_pickle=False) as stored:
        return int(json.loads(str(stored["settings"])).get("format", 1))


def mapped_artifacts(artifacts: dict[str, dict[str, str]]) -> dict[str, dict[str, str]] | None:
    """Write the format-2 files of a format-1 version beside its others and return its artifacts
    with them recorded (the old `history` record dropped; its file is left for the processes still
    reading it), or None when it is in format 2 already. Raises ArtifactError as load_bundle does."""
    if bundle_format(artifacts) >= FORMAT_VERSION:
        return None
    bundle = load_bundle(artifacts)
    folder = Path(artifacts["fusion"]["path"]).parent
    arrays = fusion_arrays(bundle.fused)
    with np.load(verified_path(artifacts, "fusion"), allow_pickle=False) as stored:
        settings = json.loads(str(stored["settings"]))
    settings.update(format=FORMAT_VERSION, arrays=list(arrays))
    upgraded = {name: record for name, record in artifacts.items() if name != "history"}
    upgraded.update(save_arrays(arrays, folder, "fusion"))
    upgraded.update(save_arrays(bundle.rows.to_arrays(), folder, "history"))
    path = folder / FORMAT_2_FUSION_FILE
    np.savez(path, settings=np.array(json.dumps(settings)))
    upgraded["fusion"] = {"path": str(path), "sha256": file_sha256(path)}
    return upgraded


def map_bundle_files(version: ModelVersion) -> bool:
    """Rewrite a format-1 version's fusion arrays and training rows as memory-mapped files and record
    them; return False if it has them already. Raises ArtifactError when its files cannot be loaded."""
    upgraded = mapped_artifacts(version.artifacts)
    if upgraded is None:
        return False
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        locked.artifacts = {**{k: v for k, v in locked.artifacts.items() if k != "history"}, **upgraded}
        locked.save(update_fields=["artifacts"])
    version.artifacts = locked.artifacts
    return True
