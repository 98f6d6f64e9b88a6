"""Memory management for runs: keep freed memory for reuse, and pause the cycle collector.

A shard allocates and frees the same large arrays again and again. glibc's defaults (and Dask's,
which trims aggressively) return them to the kernel each time, and the next shard pays for fresh
zeroed pages: on this workload that doubled the run time. Memory stays bounded by the shard size
either way, because the same space is reused.

Python's cycle collector runs after so many container allocations, and each full pass walks every
object the process holds (the imported libraries' included): a run creates few cycles, and its
arrays are freed by reference counting, so the collector is paused while it runs.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager

# glibc mallopt parameters
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
TRIM_THRESHOLD = 2**31 - 1
MMAP_THRESHOLD = 2**30
TOP_PAD = 2**28

# The same settings as environment variables, for worker processes started by a Dask nanny.
WORKER_ENVIRONMENT = {
    "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD),
    "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),
    "MALLOC_TOP_PAD_": str(TOP_PAD),
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
