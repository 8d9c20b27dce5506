"""A heartbeat: a daemon thread that records a sign of life every few seconds while work runs.

Long work (training, ingest) runs for minutes inside one call; a thread beating beside it lets
others tell a live run from one whose process died (SIGKILL, OOM, a lost machine), whatever the
work itself is doing at the moment. The thread uses its own database connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


class Heartbeat:
    """Call `beat()` once on entry, then every `every` seconds until exit (0: on entry only).

    `every` defaults to settings.HEARTBEAT_SECONDS; the test settings set 0, because in-process
    tests hold one transaction that a second connection could not see or would wait for.
    """

    def __init__(self, beat: Callable[[], None], *, every: float | None = None) -> None:
        self.beat = beat
        self.every = settings.HEARTBEAT_SECONDS if every is None else every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        self.beat()
        if self.every > 0:
            self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.every + 5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    self.beat()
                except Exception as exc:  # a missed beat is logged; the next one may succeed
                    # One line: on SQLite a beat waits behind the run's own long write transaction
                    # ("database is locked") and misses; the traceback says nothing more.
                    logger.warning("heartbeat missed: %s: %s", type(exc).__name__, exc)
                    logger.debug("heartbeat missed", exc_info=True)
        finally:
            connection.close()
