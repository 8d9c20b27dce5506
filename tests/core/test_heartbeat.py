"""Heartbeat: beats on entry and every interval; a missed beat is one warning line, no traceback."""

from __future__ import annotations

import logging
import threading

from django.db import OperationalError

from core.heartbeat import Heartbeat


def test_a_missed_beat_logs_one_line_and_the_next_beat_still_runs(caplog) -> None:
    calls: list[int] = []
    second_beat = threading.Event()

    def beat() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("database is locked")
        if len(calls) >= 3:
            second_beat.set()

    with caplog.at_level(logging.WARNING, logger="core.heartbeat"), Heartbeat(beat, every=0.01):
        assert second_beat.wait(5)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.getMessage() for record in warnings] == ["heartbeat missed: OperationalError: database is locked"]
    assert warnings[0].exc_info is None
