"""core.background.ahead: items in order from a worker thread, its errors raised here, the worker always joined."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from core.background import ahead


def counted(limit: int, closed: list[str], *, fail_at: int | None = None) -> Iterator[int]:
    """Yield 0..limit-1 (raising at `fail_at`), noting the thread that closes the generator."""
    try:
        for number in range(limit):
            if number == fail_at:
                raise ValueError(f"failed at {number}")
            yield number
    finally:
        closed.append(threading.current_thread().name)


def test_items_come_in_order_from_the_worker() -> None:
    closed: list[str] = []
    before = threading.active_count()
    with ahead(counted(50, closed), depth=2, name="worker") as items:
        assert list(items) == list(range(50))
    assert closed == ["worker"]
    assert threading.active_count() == before


def test_an_error_of_the_worker_is_raised_at_its_item() -> None:
    closed: list[str] = []
    before = threading.active_count()
    seen = []
    with pytest.raises(ValueError, match="failed at 3"), ahead(counted(10, closed, fail_at=3)) as items:
        seen.extend(items)
    assert seen == [0, 1, 2]
    assert closed and threading.active_count() == before


@pytest.mark.parametrize("leave", [ValueError, KeyboardInterrupt])
def test_leaving_early_stops_and_joins_a_worker_waiting_on_a_full_queue(leave: type[BaseException]) -> None:
    closed: list[str] = []
    before = threading.active_count()
    with pytest.raises(leave), ahead(counted(1_000_000, closed), depth=1) as items:
        next(items)
        raise leave
    assert closed == ["ahead"]  # the worker closed its generator and ended
    assert threading.active_count() == before
