"""Memory management for runs: keep freed memory for reuse, ordinary pages for NumPy's large
arrays, and the cycle collector paused.

A shard allocates and frees the same large arrays again and again. glibc's defaults (and Dask's,
which trims aggressively) return them to the kernel each time, and the next shard pays for fresh
zeroed pages: on this workload that doubled the run time. Memory stays bounded by the shard size
either way, because the same space is reused.

NumPy asks the kernel for transparent huge pages for every array of 4 MiB or more. Where the
kernel compacts memory to find them when such an array is first written (THP `defrag=madvise`,
Debian's and Ubuntu's default), a fresh process stalls on those faults: on the 2-core VM of
bench/results, a fresh process running the record-heavy peers model at 1,000,000 citizens took
2.17 s with them and 1.86 s without (the median of six each, system time 0.58 s and 0.27 s),
and warm runs took the same either way. A run therefore turns them off while its shards run
here, unless NUMPY_MADVISE_HUGEPAGE says what the user wants.

Python's cycle collector runs after so many container allocations, and each full pass walks every
object the process holds (the imported libraries' included): a run creates few cycles, and its
arrays are freed by reference counting, so the collector is paused while it runs.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager

# glibc mallopt parameters
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
TRIM_THRESHOLD = 2**31 - 1
MMAP_THRESHOLD = 2**30
TOP_PAD = 2**28

HUGEPAGE_VARIABLE = "NUMPY_MADVISE_HUGEPAGE"

# The same settings as environment variables, for worker processes started by a Dask nanny.
WORKER_ENVIRONMENT = {
    "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD),
    "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),
    "MALLOC_TOP_PAD_": str(TOP_PAD),
    HUGEPAGE_VARIABLE: os.environ.get(HUGEPAGE_VARIABLE, "0"),
}


def keep_freed_memory() -> bool:
    """Apply the settings to this process; False where the C library is not glibc."""
    try:
        # The process's own symbols, the C library's among them: finding the library by name
        # (ctypes.util.find_library) would run ldconfig in a subprocess at every run.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return all(
        mallopt(parameter, value) == 1
        for parameter, value in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (M_TOP_PAD, TOP_PAD),
        )
    )


@contextmanager
def small_pages() -> Iterator[None]:
    """NumPy's large arrays on ordinary pages for the block, then as before; nothing changes
    where NUMPY_MADVISE_HUGEPAGE is set (the user's choice) or NumPy has no such switch."""
    switch = _hugepage_switch()
    if switch is None or HUGEPAGE_VARIABLE in os.environ:
        yield
        return
    previous = switch(False)
    try:
        yield
    finally:
        switch(previous)


def _hugepage_switch():
    """NumPy's `_set_madvise_hugepage` (it returns the previous setting), or None."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(importlib.import_module(name), "_set_madvise_hugepage", None)
        except ImportError:
            continue
    return None


@contextmanager
def paused_collector() -> Iterator[None]:
    """Pause the cycle collector for the block (or the decorated function), then restore it; a
    nested use leaves it to the outer one. Cycles made meanwhile are collected afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
