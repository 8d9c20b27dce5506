"""Analysts' verdicts as training labels, read through the provider named in settings, so that
detection never imports the apps above it (reviews). No ORM here.

`DETECTION_LABEL_PROVIDER` is the dotted path of a function with no arguments returning a DataFrame
with LABEL_COLUMNS: transaction_id, label (1 confirmed fraud, 0 false positive), review_id and
closed_at (tz-aware). An empty setting means no labels: training behaves as it did before labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from django.conf import settings
from django.utils.module_loading import import_string

LABEL_COLUMNS = ["transaction_id", "label", "review_id", "closed_at"]


def no_labels() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "transaction_id": pd.Series(dtype=np.int64),
            "label": pd.Series(dtype=np.int64),
            "review_id": pd.Series(dtype=np.int64),
            "closed_at": pd.Series(dtype="datetime64[ns, UTC]"),
        }
    )


def verdict_labels() -> pd.DataFrame:
    """Return every verdict the configured provider knows now (LABEL_COLUMNS), or no rows."""
    path = getattr(settings, "DETECTION_LABEL_PROVIDER", "")
    if not path:
        return no_labels()
    frame = import_string(path)()
    if frame is None or len(frame) == 0:
        return no_labels()
    missing = set(LABEL_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{path} returned no {sorted(missing)} column")
    frame = frame[LABEL_COLUMNS].copy()
    frame["transaction_id"] = frame["transaction_id"].astype(np.int64)
    frame["label"] = frame["label"].astype(np.int64)
    frame["review_id"] = frame["review_id"].astype(np.int64)
    frame["closed_at"] = pd.to_datetime(frame["closed_at"], utc=True)
    return frame.drop_duplicates("transaction_id", keep="last").reset_index(drop=True)
