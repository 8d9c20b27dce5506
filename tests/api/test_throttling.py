"""The API's rate throttles: the same limit as DRF's, with a stored state that does not grow with the requests."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from api.throttling import SLICES

pytestmark = pytest.mark.django_db

START = 1_000_000.25  # a moment of the clock, not on a slice boundary
USER = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=7))


class Clock:
    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now


def user_throttle(clock: Clock):
    """A new instance of the configured per-user throttle (one per request, as DRF makes them)."""
    throttle = api_settings.DEFAULT_THROTTLE_CLASSES[0]()
    throttle.timer = clock
    return throttle


def allowed(clock: Clock) -> bool:
    return user_throttle(clock).allow_request(USER, None)


def test_the_stored_state_stays_bounded_however_many_requests(monkeypatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "100000/min")
    clock = Clock()
    for step in range(3000):  # 100 per second for 30 s
        clock.now = START + step / 100
        assert allowed(clock)

    stored = cache.get(user_throttle(clock).get_cache_key(USER, None))

    assert len(stored) <= SLICES + 1
    assert sum(stored.values()) == 3000


def test_the_limit_holds_in_every_window_and_frees_up_after_the_period(monkeypatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "10/min")
    clock, rng, granted = Clock(), random.Random(5), []
    for _ in range(400):  # about 5 periods of bursts and gaps
        clock.now += rng.expovariate(1.3)
        if allowed(clock):
            granted.append(clock.now)

    in_any_window = max(sum(1 for t in granted if start <= t < start + 60) for start in granted)
    assert in_any_window == 10
    assert len(granted) >= 40  # it does allow again once the window has moved on
    clock.now = granted[-1] + 60 + 60 / SLICES
    assert [allowed(clock) for _ in range(11)] == [True] * 10 + [False]


def test_wait_is_the_time_until_one_more_request_is_allowed(monkeypatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/min")
    clock = Clock()
    assert [allowed(clock) for _ in range(3)] == [True] * 3
    clock.now = START + 20
    refused = user_throttle(clock)

    assert not refused.allow_request(USER, None)
    wait = refused.wait()
    assert 40 <= wait <= 40 + 60 / SLICES  # they leave the window 60 s after START, at most a slice later
    clock.now += wait - 0.01
    assert not allowed(clock)
    clock.now += 0.02
    assert allowed(clock)


def test_a_timestamp_list_stored_by_drf_still_counts(monkeypatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "3/min")
    clock = Clock()
    key = user_throttle(clock).get_cache_key(USER, None)
    cache.set(key, [START - 1, START - 2, START - 3], 60)

    assert not allowed(clock)
    clock.now = START + 58
    assert allowed(clock)
