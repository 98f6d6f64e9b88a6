"""Random streams: one generator per (shard, purpose), spawned from the run's seed.

Keying a stream by its purpose's name (not by the order of creation) is what gives common random
numbers: two scenarios that share a seed draw the same people and the same chances for every
behaviour they share, whatever else differs between them.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, shard: int, purpose: str) -> np.random.Generator:
    key = zlib.crc32(purpose.encode("utf-8"))
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(shard, key)))
    )
