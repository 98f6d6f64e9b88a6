"""Sorting integer keys in place with whichever way is faster on this machine for such input.

The ledger sorts records packed into 64-bit keys. Their order depends on the model: where
events are drawn in citizen order within each behaviour and one channel records them, a record
stream is a few long runs; where many channels and informants record them, it is in no order.
For keys in runs, NumPy's stable sort (timsort) merges them in a few passes; its quicksort
ignores them but, where NumPy has a SIMD sort for the CPU (AVX-512), may still be faster. For
keys in no order, a linear radix pass on their top 16 bits followed by timsort (which then
finishes short runs) is two to three times faster than either sort alone on a CPU without
such a SIMD sort. Which wins is a property of the machine, so it is measured once per process
for each kind of input, on a sample of the first large input of that kind. Sorted integers are
the same whatever the algorithm: the choice changes no output.
"""

from __future__ import annotations

import time

import numpy as np

PROBE = 1 << 14  # keys timed by each way when choosing (about a millisecond each at most)
DIGIT_BITS = 16  # NumPy sorts 16-bit integers stably by radix, in linear time
SCATTERED = 16  # keys are in no order when more than one in this many of a sample step down
SAMPLE_STRIDE = 8
WAYS = {"runs": ("stable", "quicksort"), "scattered": ("bucketed", "quicksort")}
_chosen: dict[str, str] = {}  # the way found faster for each kind of input, once measured


def sort_keys(keys: np.ndarray) -> None:
    """Sort a NumPy integer array of keys at or above 0 in place."""
    if keys.shape[0] < 2 * PROBE:
        keys.sort(kind="stable")
        return
    shift = _top_digit_shift(keys)
    kind = "scattered" if _scattered(keys, shift) else "runs"
    if kind not in _chosen:
        _chosen[kind] = _faster(keys[:: max(keys.shape[0] // PROBE, 1)][:PROBE], WAYS[kind])
    _sort(keys, _chosen[kind], shift)


def _sort(keys: np.ndarray, way: str, shift: int | None = None) -> None:
    if way == "bucketed":
        _bucket(keys, _top_digit_shift(keys) if shift is None else shift)
        way = "stable"
    keys.sort(kind=way)


def _top_digit_shift(keys: np.ndarray) -> int:
    """How far to shift the keys for their top DIGIT_BITS bits."""
    return max(int(keys.max()).bit_length() - DIGIT_BITS, 0)


def _scattered(keys: np.ndarray, shift: int) -> bool:
    """Whether the keys are far from sorted: more than one in SCATTERED of a sample out of
    order by their top bits (judged on a sample: a pass over all costs more)."""
    sample = keys[::SAMPLE_STRIDE] >> shift
    return np.count_nonzero(sample[1:] < sample[:-1]) * SCATTERED > sample.shape[0]


def _bucket(keys: np.ndarray, shift: int) -> None:
    """Put the keys in order of their top bits (a stable radix sort of 16-bit digits, linear):
    timsort then finishes runs that are in order across the buckets."""
    keys[:] = keys[np.argsort((keys >> shift).astype(np.uint16), kind="stable")]


def _faster(sample: np.ndarray, ways: tuple[str, ...]) -> str:
    """The way that sorts a copy of `sample` faster (the best of two tries each)."""
    seconds = {}
    for way in ways:
        best = float("inf")
        for _ in range(2):
            copy = sample.copy()
            started = time.perf_counter()
            _sort(copy, way)
            best = min(best, time.perf_counter() - started)
        seconds[way] = best
    return min(seconds, key=seconds.__getitem__)
