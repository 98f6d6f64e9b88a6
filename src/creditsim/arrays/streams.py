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

from creditsim.arrays.backend import blocks, namespace


def _sequence(seed: int, shard: int, purpose: str) -> np.random.SeedSequence:
    """The seed sequence of (seed, shard, purpose): the purpose's name, not an order, keys it."""
    return np.random.SeedSequence(seed, spawn_key=(shard, zlib.crc32(purpose.encode("utf-8"))))


def stream(seed: int, shard: int, purpose: str, xp: ModuleType = np) -> Any:
    sequence = _sequence(seed, shard, purpose)
    if xp is np:
        return np.random.Generator(np.random.PCG64(sequence))
    state = int(sequence.generate_state(1, dtype=np.uint64)[0])
    return xp.random.Generator(xp.random.XORWOW(seed=state))


# --- Keyed draws: common random numbers by identity ----------------------------------------
#
# A stream hands out numbers in order, so the n-th number goes to whatever is n-th: remove one
# event before a channel looks, and every later event meets another number. A keyed draw hashes
# (seed, shard, purpose, the identity of what it decides) into its number instead, so an event,
# a record, a citizen or a spell meets the same number whatever else exists. The hash is
# SplitMix64's (Steele, Lea and Flood 2014): the identity times an odd constant plus the
# purpose's 64-bit key, then its finaliser, a bijection of 64 bits that passes BigCrush as a
# counter-based generator. Array operations only, so the same code runs on CuPy.

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_UNIT = 2.0**-53


def _finalise(z: Any, scratch: Any = None) -> Any:
    """SplitMix64's finaliser, in place over a uint64 array; `scratch` (as large) holds the
    shifts."""
    xp = namespace(z)
    shifted = xp.empty_like(z) if scratch is None else scratch
    for shift, multiplier in ((30, _MIX1), (27, _MIX2)):
        xp.right_shift(z, np.uint64(shift), out=shifted)
        z ^= shifted
        z *= multiplier
    xp.right_shift(z, np.uint64(31), out=shifted)
    z ^= shifted
    return z


def _block_array(spans: list[tuple[int, int]], xp: ModuleType) -> Any:
    """A uint64 array as long as the first (the longest) of `spans`."""
    return xp.empty(spans[0][1] - spans[0][0] if spans else 0, dtype=np.uint64)


def _mix_int(value: int) -> int:
    z = value & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


class Keyed:
    """Draws keyed by identity for one (seed, shard, purpose): `uniforms(ids)` gives each id
    its own uniform, the same whatever other ids are drawn with it or in what order; `draw`
    numbers a further independent draw for the same id (0, 1, 2, ...)."""

    def __init__(self, key: int) -> None:
        self.key = key

    def bits(self, ids: Any, draw: int = 0) -> Any:
        """64 random bits per id (a uint64 array of the ids' backend)."""
        xp = namespace(ids)
        out = xp.empty(ids.shape[0], dtype=np.uint64)
        spans = blocks(ids.shape[0], xp)
        scratch = _block_array(spans, xp)
        for start, end in spans:
            self._hash(ids[start:end], draw, out[start:end], scratch[: end - start])
        return out

    def uniforms(self, ids: Any, draw: int = 0) -> Any:
        """A uniform on [0, 1) per id (53 bits: `u < p` holds with chance exactly p)."""
        xp = namespace(ids)
        out = xp.empty(ids.shape[0], dtype=np.float64)
        spans = blocks(ids.shape[0], xp)
        z, scratch = _block_array(spans, xp), _block_array(spans, xp)
        for start, end in spans:
            bits = self._hash(ids[start:end], draw, z[: end - start], scratch[: end - start])
            bits >>= np.uint64(11)
            xp.multiply(bits, _UNIT, out=out[start:end])
        return out

    def _hash(self, ids: Any, draw: int, z: Any, scratch: Any) -> Any:
        """The bits of `ids`, written into `z` (as long, uint64)."""
        z[...] = ids  # as uint64: a negative id wraps, as `astype` would
        z *= np.uint64(_GOLDEN)
        z += np.uint64(_mix_int(self.key + (draw + 1) * _GOLDEN))
        return _finalise(z, scratch)

    def below(self, ids: Any, n: Any, draw: int = 0) -> Any:
        """A uniform integer in [0, n) per id (int64; `n` one value or one per id)."""
        return (self.uniforms(ids, draw) * n).astype(np.int64)

    def exponential(self, ids: Any, draw: int = 0) -> Any:
        """A standard exponential per id."""
        return -namespace(ids).log1p(-self.uniforms(ids, draw))

    def poisson(self, ids: Any, mean: Any, draw: int = 0) -> Any:
        """A Poisson count per id with the given mean (one value or one per id), by inverting
        the distribution function on the id's own uniform; a mean above `CHUNK` is the sum of
        Poisson counts of at most `CHUNK` each (further draws of the same id), so each id's
        count depends on its own mean only."""
        xp = namespace(ids)
        n = ids.shape[0]
        mean = xp.broadcast_to(xp.asarray(mean, dtype=np.float64), (n,))
        chunks = xp.maximum(xp.ceil(mean / CHUNK), 1).astype(np.int64)
        each = mean / chunks
        count = xp.zeros(n, dtype=np.int64)
        most = int(chunks.max()) if n else 0
        for chunk in range(most):
            at = xp.flatnonzero(chunks > chunk)
            count[at] += _poisson_inverse(self.uniforms(ids[at], draw + chunk * 7919), each[at], xp)
        return count


CHUNK = 64.0


def _poisson_inverse(u: Any, mean: Any, xp: ModuleType) -> Any:
    """The smallest k with P(X <= k) > u for X Poisson(mean), mean <= CHUNK."""
    count = xp.zeros(u.shape[0], dtype=np.int64)
    term = xp.exp(-mean)
    total = term.copy()
    active = xp.flatnonzero(u >= total)
    k = 0
    while active.size:
        k += 1
        term[active] *= mean[active] / k
        total[active] += term[active]
        count[active] = k
        active = active[(u[active] >= total[active]) & (term[active] > 0)]
    return count


def keyed(seed: int, shard: int, purpose: str) -> Keyed:
    """Keyed draws for (seed, shard, purpose): the key is the first 64 bits of the same seed
    sequence that `stream` would use, so purposes are as independent as streams are."""
    return Keyed(int(_sequence(seed, shard, purpose).generate_state(1, dtype=np.uint64)[0]))


def pair(high: Any, low: Any) -> Any:
    """An identity (uint64) from two numbers below 2**32: a citizen and a day, say, or a
    citizen and the rank of one of their tries."""
    return (high.astype(np.uint64) << np.uint64(32)) | low.astype(np.uint64)


def derive(ids: Any, tag: int) -> Any:
    """New identities from old ones (a record from its event, the j-th report from an event):
    a bijection of the ids for each tag, so distinct ids stay distinct."""
    z = ids.astype(np.uint64) + np.uint64(_mix_int(tag * _GOLDEN + 1))
    return _finalise(z)
