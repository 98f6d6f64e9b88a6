"""Memory settings for runs: freed memory kept for reuse, the cycle collector paused."""

from __future__ import annotations

import gc
import platform
import subprocess

import pytest

from creditsim.engine.memory import keep_freed_memory, paused_collector


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_freed_memory_is_kept_without_starting_a_process(monkeypatch):
    """Every run applies the settings: found in the process's own symbols, not by running
    ldconfig (what ctypes.util.find_library does) each time."""

    def no_process(*args, **kwargs):
        raise AssertionError("a subprocess was started")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    assert keep_freed_memory() is True


def test_the_collector_is_paused_and_restored_and_a_nested_pause_leaves_it_to_the_outer():
    assert gc.isenabled()
    with paused_collector():
        assert not gc.isenabled()
        with paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
