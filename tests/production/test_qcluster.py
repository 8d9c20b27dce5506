"""Chunked scoring through a real django-q2 cluster, on the ORM broker and (where redis-server is
installed) on Redis: the chunks spread over the workers, a re-delivered group writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detection.chunked import TASK
from transactions.demo_data import generate_demo_frame

from .processes import RedisServer, driver, start_cluster, stop_cluster

CHUNK_ROWS = 400


@pytest.fixture
def redis_url(tmp_path: Path):
    """A throwaway redis-server's URL; skips where redis-server is not installed."""
    with RedisServer(tmp_path) as redis:
        yield redis.url


@pytest.fixture(params=["orm", "redis"])
def broker_env(request, scratch_env) -> dict[str, str]:
    """The scratch environment with two workers, on the ORM broker or on Redis."""
    env = {**scratch_env, "Q_WORKERS": "2"}
    if request.param == "redis":
        env["Q_REDIS_URL"] = request.getfixturevalue("redis_url")
    return env


def test_chunks_spread_over_the_workers_and_a_redelivered_group_adds_nothing(
    broker_env, demo_csv: Path, tmp_path: Path
) -> None:
    newer = tmp_path / "newer.csv"
    generate_demo_frame(4_000, seed=99)[0].to_csv(newer, index=False, encoding="latin-1", lineterminator="\n")
    env = broker_env
    first = driver(f"ingest:{demo_csv}", "train", f"ingest:{newer}", f"enqueue-chunks:{CHUNK_ROWS}", env=env)[-1]
    chunks = len(first["ranges"])
    log = tmp_path / "qcluster.log"
    cluster = start_cluster(env, log)
    try:
        # Wait for the chunks; deliver them all again (as after a worker died before acknowledging them).
        done, _, again = driver(f"wait-group:{chunks}:{first['group']}", "requeue", f"wait-group:{chunks}", env=env)
    finally:
        stop_cluster(cluster)

    assert first["unscored"] > 2_500
    assert chunks == -(-first["unscored"] // CHUNK_ROWS) >= 7
    assert done["succeeded"] == chunks
    assert done["written"] == first["unscored"]
    assert done["unscored"] == 0 and done["duplicated_rows"] == 0
    assert len(_workers_of(log, first["group"])) == 2  # both worker processes took chunks
    assert done["ranges_left"] == []  # nothing left to plan
    assert again["succeeded"] == chunks and again["written"] == 0
    assert again["scores"] == done["scores"] and again["duplicated_rows"] == 0


def _workers_of(log: Path, group: str) -> set[str]:
    """Names of the cluster's worker processes that logged processing a task of `group`."""
    pattern = re.compile(rf"(\S+) processing \S+ '{re.escape(TASK)}' \[{re.escape(group)}\]")
    return {match.group(1) for match in pattern.finditer(log.read_text())}
