"""Redis, the django-q2 broker, stopped under a live gunicorn: starting a job is a JSON 503 that starts
nothing, and the health check reports the broker down."""

from __future__ import annotations

from pathlib import Path

import requests

from .processes import LiveServer, RedisServer, driver, manage


def test_with_redis_stopped_training_is_a_503_that_starts_nothing_and_health_is_degraded(
    scratch_env: dict[str, str], tmp_path: Path
) -> None:
    with RedisServer(tmp_path) as redis:
        env = {**scratch_env, "Q_REDIS_URL": redis.url}
        manage("migrate", "--verbosity", "0", env=env)
        token = driver("token", env=env)[0]["token"]  # a superuser's
        with LiveServer(env) as server:
            before = requests.get(f"{server.url}/api/health", timeout=60).json()
            redis.stop()
            assert not redis.answers()
            train = requests.post(
                f"{server.url}/api/jobs/train",
                json={"contamination": 0.02, "epochs": 1, "seed": 0},
                headers={"Authorization": f"Token {token}"},
                timeout=60,
            )
            health = requests.get(f"{server.url}/api/health", timeout=60)
    (after,) = driver("jobs", env=env)

    assert before["checks"]["broker"] == {"status": "ok", "kind": "redis"}  # the site really uses this Redis
    assert train.status_code == 503, train.text
    assert train.headers["Content-Type"] == "application/json"
    assert train.json() == {"detail": "The job queue is unavailable right now; nothing was started. Retry shortly."}
    assert int(train.headers["Retry-After"]) > 0
    # The claimed version and its job are settled at once: nothing waits for a worker, nothing blocks the next run.
    assert [job["status"] for job in after["jobs"]] == ["failed"]
    assert after["jobs"][0]["kind"] == "train" and after["jobs"][0]["error"].startswith("could not queue the task")
    assert [version["status"] for version in after["versions"]] == ["failed"]
    assert health.status_code == 200
    payload = health.json()
    assert payload["status"] == "degraded"
    assert payload["checks"]["broker"]["status"] == "down" and payload["checks"]["broker"]["kind"] == "redis"
    assert payload["checks"]["database"] == {"status": "ok"}
    assert str(redis.socket_path) not in health.text  # the broker's address stays in the logs
