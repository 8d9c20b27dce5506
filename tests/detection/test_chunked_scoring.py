"""Scoring a large frame in chunks of rows gives the scores of one call."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from detection import scoring, services
from detection.estimators import ModelScores
from detection.history import history_features
from detection.kinds import line_kinds
from detection.models import ModelVersion
from transactions.selectors import transactions_frame

pytestmark = pytest.mark.django_db


def test_scores_in_chunks_equal_one_call(trained_version: ModelVersion, monkeypatch) -> None:
    services.load_scoring_bundle.cache_clear()
    bundle = services.scoring_bundle(trained_version)
    rows = transactions_frame()
    rows["kind"] = line_kinds(rows)
    features = history_features(rows, priors=bundle.priors)
    whole_scores, whole = bundle.fused.score_with_models(features)
    calls = []
    score_with_models = type(bundle.fused).score_with_models

    def counted(fused, part):
        calls.append(len(part))
        return score_with_models(fused, part)

    monkeypatch.setattr(scoring, "SCORE_CHUNK_ROWS", 1_024)
    monkeypatch.setattr(type(bundle.fused), "score_with_models", counted)
    chunk_scores, chunked = scoring.score_in_chunks(bundle.fused, features)

    assert len(features) > 2_048 and max(calls) == 1_024 and sum(calls) == len(features)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    for item in fields(ModelScores):
        assert np.array_equal(getattr(chunk_scores, item.name), getattr(whole_scores, item.name))
