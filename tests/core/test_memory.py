"""core.memory: glibc's mmap threshold fixed for data jobs, and nothing done where there is no glibc."""

from __future__ import annotations

import ctypes.util
import platform

import pytest

from core import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_threshold_is_set_where_glibc_is() -> None:
    assert memory.map_large_blocks() is True


def test_without_a_c_library_nothing_is_set(monkeypatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert memory.map_large_blocks() is False
