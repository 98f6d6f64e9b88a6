"""Random streams: one generator per (shard, purpose), spawned from the run's seed.

Keying a stream by its purpose's name (not by the order of creation) is what gives common random
numbers: two scenarios that share a seed draw the same people and the same chances for every
behaviour they share, whatever else differs between them. The same key seeds a CuPy generator on
the GPU backend (a different bit generator, so its numbers differ from NumPy's, but they are as
reproducible and as independent of the number of workers).
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import Any

import numpy as np


def stream(seed: int, shard: int, purpose: str, xp: ModuleType = np) -> Any:
    key = zlib.crc32(purpose.encode("utf-8"))
    sequence = np.random.SeedSequence(seed, spawn_key=(shard, key))
    if xp is np:
        return np.random.Generator(np.random.PCG64(sequence))
    state = int(sequence.generate_state(1, dtype=np.uint64)[0])
    return xp.random.Generator(xp.random.XORWOW(seed=state))
