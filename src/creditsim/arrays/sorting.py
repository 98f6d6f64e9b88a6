"""Sorting integer keys in place with whichever of NumPy's sorts is faster on this machine.

The ledger sorts records packed into 64-bit keys. Its input is mostly in order already: events
are drawn in citizen order within each behaviour, so a record stream is a few long runs.
NumPy's stable sort (timsort) merges such runs in a few passes; its quicksort ignores them but,
where NumPy has a SIMD sort for the CPU (AVX-512), is still the faster of the two. Which wins is
a property of the machine, so it is measured once per process on the first large input. Where
timsort is chosen and the keys are far from sorted (national-2018's records come from many
channels and informants), a linear radix pass on their top bits goes first. Sorted integers are
the same whatever the algorithm: the choice changes no output.
"""

from __future__ import annotations

import time

import numpy as np

PROBE = 1 << 14  # keys timed by each sort when choosing (about a millisecond each at most)
_chosen: list[str] = []  # the kind found faster, once measured
DIGIT_BITS = 16  # NumPy sorts 16-bit integers stably by radix, in linear time
SCATTERED = 16
SAMPLE_STRIDE = 8


def sort_keys(keys: np.ndarray) -> None:
    """Sort a NumPy integer array of keys at or above 0 in place."""
    if keys.shape[0] < 2 * PROBE:
        keys.sort(kind="stable")
        return
    if not _chosen:
        _chosen.append(_faster(keys[:PROBE]))
    if _chosen[0] == "stable":
        _bucket_first(keys)
    keys.sort(kind=_chosen[0])


def _bucket_first(keys: np.ndarray) -> None:
    """Where the keys are far from sorted (records from many sources in no order: more than
    one in SCATTERED of a sample out of order by their top 16 bits), put them in order of those
    bits first: a radix sort of 16-bit digits is linear, and timsort then finishes runs that
    are in order across the buckets, in about two thirds of the time it takes alone."""
    shift = max(int(keys.max()).bit_length() - DIGIT_BITS, 0)
    sample = keys[::SAMPLE_STRIDE] >> shift  # judged on a sample: a pass over all costs more
    if np.count_nonzero(sample[1:] < sample[:-1]) * SCATTERED <= sample.shape[0]:
        return
    keys[:] = keys[np.argsort((keys >> shift).astype(np.uint16), kind="stable")]


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
