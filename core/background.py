"""Run an iterator in a worker thread, a bounded number of items ahead of its consumer.

`ahead(items)` lets pure computation (parsing, cleaning) of the next items overlap with the
consumer's work on the current one, such as database writes, during which SQLite and most of
pandas' C code release the GIL. The worker must not use Django's database connections: they
belong to the thread that opened them. An exception raised by the iterator is raised again in the
consumer, at the item where it happened; however the consumer leaves the block (end, exception,
KeyboardInterrupt), the worker is stopped and joined before the block exits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

# How often (seconds) a worker blocked on a full queue looks whether the consumer has left.
_POLL_SECONDS = 0.05


class _Done:
    """The end of the items, or the exception that ended them."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def _produce(items: Iterable[T], out: queue.Queue, stop: threading.Event) -> None:
    """Put each of `items` on `out`, then a _Done; stop early once `stop` is set."""
    iterator = iter(items)
    try:
        for item in iterator:
            if not _put(out, item, stop):
                return
        _put(out, _Done(), stop)
    except BaseException as exc:  # handed to the consumer, which raises it
        _put(out, _Done(exc), stop)
    finally:
        close_iterator(iterator)  # a generator's finally blocks (open files) run in this thread


def close_iterator(iterator: Iterator) -> None:
    """Close `iterator` when it can be closed (a generator), so its finally blocks run now."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _put(out: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put `item` on `out` unless `stop` is set first; return whether it was put."""
    while not stop.is_set():
        try:
            out.put(item, timeout=_POLL_SECONDS)
        except queue.Full:
            continue
        return True
    return False


def _consume(out: queue.Queue) -> Iterator[T]:
    while True:
        item = out.get()
        if isinstance(item, _Done):
            if item.error is not None:
                raise item.error
            return
        yield item


@contextmanager
def ahead(items: Iterable[T], *, depth: int = 1, name: str = "ahead") -> Iterator[Iterator[T]]:
    """Yield an iterator over `items`, which a worker thread computes up to `depth` items ahead.

    The worker is joined when the block exits, whichever way it exits.
    """
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(items, out, stop), name=name, daemon=True)
    worker.start()
    try:
        yield _consume(out)
    finally:
        stop.set()
        worker.join()
