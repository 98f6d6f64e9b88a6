"""Memory settings for runs: freed memory kept for reuse, the cycle collector paused."""

from __future__ import annotations

import gc
import os
import platform
import subprocess

import pytest

from creditsim.engine.memory import keep_freed_memory, paused_collector, small_pages


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


def _hugepages_on() -> bool:
    """NumPy's setting, read by setting it and putting it back."""
    from creditsim.engine.memory import _hugepage_switch

    switch = _hugepage_switch()
    now = switch(True)
    switch(now)
    return now


@pytest.fixture
def hugepage_switch():
    from creditsim.engine.memory import _hugepage_switch

    switch = _hugepage_switch()
    if switch is None:
        pytest.skip("this NumPy has no huge-page switch")
    return switch


@pytest.mark.parametrize("before", [True, False])
def test_large_arrays_are_on_ordinary_pages_while_shards_run_then_as_before(
    monkeypatch, hugepage_switch, before
):
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    previous = hugepage_switch(before)
    try:
        with small_pages():
            assert _hugepages_on() is False
        assert _hugepages_on() is before
    finally:
        hugepage_switch(previous)


def test_the_users_own_huge_page_setting_is_left_alone(monkeypatch, hugepage_switch):
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    previous = hugepage_switch(True)
    try:
        with small_pages():
            assert _hugepages_on() is True
    finally:
        hugepage_switch(previous)


def test_a_run_in_this_process_runs_its_shards_on_ordinary_pages(monkeypatch, hugepage_switch):
    """The run's shards see the setting off; the process has it back afterwards."""
    import creditsim
    import creditsim.engine.tasks as tasks

    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    seen = []
    real = tasks.run_shard

    def watched(*args, **kwargs):
        seen.append(_hugepages_on())
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks, "run_shard", watched)
    previous = hugepage_switch(True)
    try:
        creditsim.run("fico-baseline", population=2000, shard_size=1000, catalogue=False)
        assert seen == [False, False]
        assert _hugepages_on() is True
    finally:
        hugepage_switch(previous)


def test_dask_workers_get_the_same_setting_unless_the_user_gave_one():
    from creditsim.engine import memory

    expected = os.environ.get("NUMPY_MADVISE_HUGEPAGE", "0")
    assert memory.WORKER_ENVIRONMENT["NUMPY_MADVISE_HUGEPAGE"] == expected


def test_local_workers_get_the_memory_settings_and_no_statistical_profiler():
    """Dask's profiler keeps a tree of stacks per second on every worker (memory that grew with
    the shards run); local workers run without it, and with the run's allocator settings."""
    from creditsim.engine import memory
    from creditsim.engine.cluster import dask_client

    def inspect(dask_worker):
        callbacks = set(dask_worker.periodic_callbacks)
        return {"profile", "profile-cycle"} & callbacks, os.environ.get("MALLOC_TRIM_THRESHOLD_")

    with dask_client(1, None) as client:
        (found,) = client.run(inspect).values()
    assert found == (set(), str(memory.TRIM_THRESHOLD))
