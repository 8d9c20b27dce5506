"""Rate throttles whose stored state stays small, whatever the rate: counts per slice of the window.

DRF's SimpleRateThrottle keeps one timestamp per request of the last period in the cache and reads,
trims and writes the whole list back on every request: at 6,000/min a busy user's entry holds up to
6,000 floats, pickled and written to the (database) cache each time, so a request costs more the
more requests came before it. Here the period is cut into SLICES equal slices and the cache keeps
one count per slice that still touches the window: at most SLICES + 1 small integers.

The limit means the same: a request is allowed only while fewer than `num_requests` requests were
counted in the slices overlapping the last `duration` seconds, so no window of `duration` seconds
ever holds more than `num_requests` allowed requests. The oldest slice is counted whole, so a
request may be refused up to one slice (1/60 of the period: 1 s of a per-minute rate) earlier
than DRF's list would refuse it. Refused requests are not counted, as in DRF. `wait()` is the
exact time until the oldest slices leave the window and one more request would be allowed.

The counts live in the default cache, shared by every worker process (the database cache unless
CACHE_URL names another); read and written without a lock, as DRF's list is.
"""

from __future__ import annotations

from rest_framework import throttling

SLICES = 60


class SlicedWindowMixin:
    """allow_request and wait for a SimpleRateThrottle subclass: per-slice counts instead of a list."""

    slices = SLICES

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.width = self.duration / self.slices
        self.counts = self._counts_in_window(self.cache.get(self.key))
        if sum(self.counts.values()) >= self.num_requests:
            return self.throttle_failure()
        current = int(self.now // self.width)
        self.counts[current] = self.counts.get(current, 0) + 1
        self.cache.set(self.key, self.counts, self.duration)
        return True

    def _counts_in_window(self, stored) -> dict[int, int]:
        """The stored counts of the slices that still overlap the window; a DRF timestamp list (the
        entry an older release wrote) is counted into slices."""
        oldest = int((self.now - self.duration) // self.width)
        if isinstance(stored, list):
            counts: dict[int, int] = {}
            for moment in stored:
                index = int(moment // self.width)
                counts[index] = counts.get(index, 0) + 1
            stored = counts
        if not isinstance(stored, dict):
            return {}
        return {index: count for index, count in stored.items() if index >= oldest}

    def wait(self) -> float | None:
        """Seconds until enough of the oldest slices leave the window for one more request."""
        excess = sum(self.counts.values()) - self.num_requests + 1
        for index in sorted(self.counts):
            excess -= self.counts[index]
            if excess <= 0:
                return max(0.0, (index + 1) * self.width + self.duration - self.now)
        return None


class SlicedRateThrottle(SlicedWindowMixin, throttling.SimpleRateThrottle):
    """SimpleRateThrottle with per-slice counts: subclass it and set `scope` and `get_cache_key`."""


class UserRateThrottle(SlicedWindowMixin, throttling.UserRateThrottle):
    """DRF's per-user throttle (the "user" rate, API_USER_RATE) with per-slice counts."""


class AnonRateThrottle(SlicedWindowMixin, throttling.AnonRateThrottle):
    """DRF's per-address throttle for anonymous requests (the "anon" rate) with per-slice counts."""
