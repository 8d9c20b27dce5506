"""core.ahead_process.ahead_in_child: items in order from a forked child, its errors raised here, the child reaped."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator

import pytest

from core import ahead_process
from core.ahead_process import ahead_in_child

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="children are forked on Linux only")


def pids(limit: int, *, fail_at: int | None = None, die_at: int | None = None) -> Iterator[tuple[int, int]]:
    """Yield (number, pid of the process computing it); raise at `fail_at`, exit abruptly at `die_at`."""
    for number in range(limit):
        if number == fail_at:
            raise ValueError(f"failed at {number}")
        if number == die_at:
            os._exit(3)
        yield number, os.getpid()


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("cannot pickle this error")


def unpicklable_at(number: int) -> Iterator[int]:
    yield from range(number)
    raise Unpicklable("the cause")


def test_items_come_in_order_from_a_child_process_which_is_then_reaped() -> None:
    with ahead_in_child(pids(200), name="planner") as items:
        received = list(items)
    assert [number for number, _pid in received] == list(range(200))
    assert {pid for _number, pid in received} - {os.getpid()}  # computed elsewhere
    assert not multiprocessing.active_children()


def test_an_error_of_the_child_is_raised_at_its_item() -> None:
    seen = []
    with pytest.raises(ValueError, match="failed at 3"), ahead_in_child(pids(10, fail_at=3)) as items:
        seen.extend(number for number, _pid in items)
    assert seen == [0, 1, 2]
    assert not multiprocessing.active_children()


def test_an_error_that_cannot_be_pickled_is_named() -> None:
    with pytest.raises(ChildProcessError, match="Unpicklable: the cause"), ahead_in_child(unpicklable_at(2)) as items:
        assert list(items) == [0, 1]


def test_a_child_that_dies_midway_is_an_error_not_a_short_stream() -> None:
    seen = []
    with pytest.raises(ChildProcessError, match="exit code 3"), ahead_in_child(pids(10, die_at=4)) as items:
        seen.extend(number for number, _pid in items)
    assert seen == [0, 1, 2, 3]


@pytest.mark.parametrize("leave", [ValueError, KeyboardInterrupt])
def test_leaving_early_ends_a_child_that_still_has_items(leave: type[BaseException]) -> None:
    with pytest.raises(leave), ahead_in_child(pids(10_000_000)) as items:
        next(items)
        raise leave
    assert not multiprocessing.active_children()


def test_a_handler_the_parent_installed_does_not_keep_the_child_alive(monkeypatch) -> None:
    exit_codes = []
    end = ahead_process._Stream.end

    def noting_exit_code(stream) -> None:
        close = stream.child.close
        stream.child.close = lambda: (exit_codes.append(stream.child.exitcode), close())
        end(stream)

    monkeypatch.setattr(ahead_process._Stream, "end", noting_exit_code)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)  # a server's graceful stop
    try:
        with pytest.raises(RuntimeError), ahead_in_child(pids(10_000_000)) as items:
            next(items)
            raise RuntimeError("leave")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert exit_codes == [-signal.SIGTERM]  # ended by terminate(), not by the kill that follows


def test_a_process_that_may_not_fork_computes_in_a_thread(monkeypatch) -> None:
    monkeypatch.setattr(ahead_process, "can_fork_children", lambda: False)
    with ahead_in_child(pids(20)) as items:
        received = list(items)
    assert [number for number, _pid in received] == list(range(20))
    assert {pid for _number, pid in received} == {os.getpid()}


def test_a_daemonic_process_may_not_fork(monkeypatch) -> None:
    assert ahead_process.can_fork_children()
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    assert not ahead_process.can_fork_children()
