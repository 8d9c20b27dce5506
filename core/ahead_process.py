"""Run an iterator in a forked child process, one item ahead of its consumer.

`ahead_in_child(items)` is `core.background.ahead` with a process instead of a thread. pandas and
numpy hold the GIL for most of their work, so a worker thread that parses and cleans mostly takes
turns with a consumer that binds rows for the database, instead of running beside it. A child
process has a GIL of its own; each item comes back pickled through a pipe (about 0.1 s for the
half-million rows of the Kaggle file, against about a second of turns saved).

The child is forked, so it starts at once with everything already imported, and never touches
this process's database connections (it only computes and sends). An exception raised by the
iterator is raised again in the consumer at the item where it happened; a child that dies without
finishing raises ChildProcessError. However the consumer leaves the block, the child is ended and
reaped before the block exits. Where a child cannot be forked (not Linux, or this process is
daemonic, such as a django-q2 worker, which may not have children) it falls back to `ahead`'s thread.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import TypeVar

from core.background import ahead, close_iterator

T = TypeVar("T")

_ITEM, _ERROR, _END = "item", "error", "end"
# Seconds a child that was asked to stop gets before it is killed.
_STOP_SECONDS = 5.0


def can_fork_children() -> bool:
    """Whether this process can fork a child to compute ahead (Linux, and not a daemonic process)."""
    return sys.platform.startswith("linux") and not multiprocessing.current_process().daemon


def _send_items(items: Iterable[T], out: Connection) -> None:
    """In the child: send each of `items` pickled, then an end mark or the error that ended them."""
    # Handlers inherited from the parent (a server's graceful stop) must not outlive a terminate().
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    iterator = iter(items)
    try:
        for item in iterator:
            out.send_bytes(pickle.dumps((_ITEM, item), protocol=pickle.HIGHEST_PROTOCOL))
        out.send_bytes(pickle.dumps((_END, None)))
    except BaseException as exc:  # handed to the consumer, which raises it
        out.send_bytes(_pickled_error(exc))
    finally:
        close_iterator(iterator)
        out.close()


def _pickled_error(exc: BaseException) -> bytes:
    """Return the error pickled, or a ChildProcessError naming it when it cannot be pickled."""
    try:
        return pickle.dumps((_ERROR, exc), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps((_ERROR, ChildProcessError(f"{type(exc).__name__}: {exc}")))


class _Stream:
    """The consumer's end: items as they arrive, and whether the child said it had finished."""

    def __init__(self, reader: Connection, child: multiprocessing.process.BaseProcess) -> None:
        self.reader = reader
        self.child = child
        self.finished = False

    def __iter__(self) -> Iterator:
        while True:
            try:
                kind, value = pickle.loads(self.reader.recv_bytes())
            except EOFError:
                self.child.join(_STOP_SECONDS)
                raise ChildProcessError(
                    f"{self.child.name} ended without finishing its items (exit code {self.child.exitcode})"
                ) from None
            if kind == _ITEM:
                yield value
                continue
            self.finished = True
            if kind == _ERROR:
                raise value
            return

    def end(self) -> None:
        """Reap the child: let it exit once it has finished, else stop it (a stuck one is killed)."""
        if not self.finished:
            self.child.terminate()
        self.child.join(_STOP_SECONDS)
        if self.child.is_alive():
            self.child.kill()
            self.child.join()
        self.reader.close()
        self.child.close()


@contextmanager
def ahead_in_child(items: Iterable[T], *, name: str = "ahead") -> Iterator[Iterator[T]]:
    """Yield an iterator over `items`, which a forked child computes one item ahead (see the module)."""
    if not can_fork_children():
        with ahead(items, name=name) as computed:
            yield computed
        return
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_send_items, args=(items, writer), name=name, daemon=True)
    child.start()
    writer.close()  # the child holds the only writing end: its exit ends the stream
    stream = _Stream(reader, child)
    try:
        yield iter(stream)
    finally:
        stream.end()
