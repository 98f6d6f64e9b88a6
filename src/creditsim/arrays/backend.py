"""Array backends: NumPy (the default, needs nothing) or CuPy (a GPU, `pip install creditsim[gpu]`).

The stages that scale with events (population, behaviours, response, channels) are written once,
over the array namespace `xp` of their inputs, and run unchanged on either. The later stages
(ledger, sanctions, tallies) work on far fewer items and run on the host.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from creditsim.errors import CreditsimError

BACKENDS = ("numpy", "cupy")


class BackendError(CreditsimError):
    """A backend that cannot be used here; the message says why and what is allowed."""


def array_module(name: str) -> ModuleType:
    """The array namespace of a backend, checked to be usable."""
    if name == "numpy":
        return np
    if name != "cupy":
        raise BackendError(f"--backend {name}: unknown; allowed: {', '.join(BACKENDS)}")
    try:
        import cupy
    except ImportError:
        raise BackendError(
            "--backend cupy: CuPy is not installed; install it with pip install 'creditsim[gpu]'"
        ) from None
    try:
        devices = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - any CUDA failure means no usable device
        devices = 0
    if devices == 0:
        raise BackendError("--backend cupy: no CUDA device is available on this machine")
    return cupy


def namespace(array: Any) -> ModuleType:
    """The namespace an array belongs to (numpy for NumPy arrays, cupy for CuPy ones)."""
    if type(array).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np


BLOCK = 1 << 16  # items worked on at a time on the CPU: a block's arrays stay in its cache


def blocks(n: int, xp: ModuleType = np, size: int = BLOCK) -> list[tuple[int, int]]:
    """(start, end) of each block of `n` items. A handful of passes over a block in the CPU's
    cache are about twice as fast as over arrays of millions (each of them fresh memory from
    the system, too); on a GPU, one block."""
    step = size if xp is np else max(n, 1)
    return [(start, min(n, start + step)) for start in range(0, n, step)]


def to_host(array: Any) -> np.ndarray:
    return array.get() if hasattr(array, "get") and not isinstance(array, np.ndarray) else array


def categorical(rng: Any, probabilities: np.ndarray, size: int, xp: ModuleType) -> Any:
    """Draws of category indices with the given probabilities (works on either backend)."""
    cumulative = np.cumsum(probabilities)
    cumulative[-1] = 1.0
    return passed(cumulative, rng.random(size), xp)


def passed(thresholds: Any, draw: Any, xp: ModuleType) -> Any:
    """How many of the ascending `thresholds` each draw is at or above: `searchsorted(...,
    side="right")` for a short list of thresholds (one per column of a 2-D array, for a row
    per draw). A comparison per threshold beats a binary search on random draws tenfold."""
    count = xp.zeros(draw.shape, dtype=np.int16)
    for k in range(thresholds.shape[-1]):
        count += draw >= thresholds[..., k]
    return count
