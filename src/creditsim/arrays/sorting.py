"""Sorting integer keys in place with whichever of NumPy's sorts is faster on this machine.

The ledger sorts records packed into 64-bit keys. Its input is mostly in order already: events
are drawn in citizen order within each behaviour, so a record stream is a few long runs.
NumPy's stable sort (timsort) merges such runs in a few passes; its quicksort ignores them but,
where NumPy has a SIMD sort for the CPU (AVX-512), is still the faster of the two. Which wins is
a property of the machine, so it is measured once per process on the first large input. Sorted
integers are the same whatever the algorithm: the choice changes no output.
"""

from __future__ import annotations

import time

import numpy as np

PROBE = 1 << 14  # keys timed by each sort when choosing (about a millisecond each at most)
_chosen: list[str] = []  # the kind found faster, once measured


def sort_keys(keys: np.ndarray) -> None:
    """Sort a NumPy integer array in place."""
    if keys.shape[0] < 2 * PROBE:
        keys.sort(kind="stable")
        return
    if not _chosen:
        _chosen.append(_faster(keys[:PROBE]))
    keys.sort(kind=_chosen[0])


def _faster(sample: np.ndarray) -> str:
    """The kind of sort that sorts a copy of `sample` faster (the best of two tries each)."""
    seconds = {}
    for kind in ("stable", "quicksort"):
        best = float("inf")
        for _ in range(2):
            copy = sample.copy()
            started = time.perf_counter()
            copy.sort(kind=kind)
            best = min(best, time.perf_counter() - started)
        seconds[kind] = best
    return min(seconds, key=seconds.__getitem__)
