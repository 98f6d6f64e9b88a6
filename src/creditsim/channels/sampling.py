"""Picking a random citizen who shares a key with someone (same group, same region)."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.backend import namespace
from creditsim.population import CHILD, Population


def adults_sharing(pop: Population, key: str) -> MemberPicker:
    """A picker of adults who share `key` ("group" or "region") with someone; built once per
    population, as the main observation and each giving-up step use it."""
    name = f"adults by {key}"
    if name not in pop.derived:
        pop.derived[name] = MemberPicker(getattr(pop, key), eligible=pop.age_band != CHILD)
    return pop.derived[name]


class MemberPicker:
    """Uniform draws among the citizens that share a key, excluding a given citizen."""

    def __init__(self, keys: np.ndarray, eligible: np.ndarray | None = None) -> None:
        xp = namespace(keys)
        self.xp = xp
        top = int(keys.max()) + 1 if keys.size else 0
        # Small keys (groups, regions) sort by radix in one pass; the ineligible sort first.
        keys = keys.astype(np.int16 if top < 32768 else np.int64)
        if eligible is None:
            eligible = xp.ones(keys.shape[0], dtype=bool)
        keys = xp.where(eligible, keys, keys.dtype.type(-1))
        self._members = xp.argsort(keys, kind="stable").astype(np.int32)
        self._count = xp.bincount(keys[eligible], minlength=top)
        skipped = keys.shape[0] - int(self._count.sum())
        self._start = skipped + xp.cumsum(self._count) - self._count

    def pick(self, key: np.ndarray, exclude: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """A member of each `key`'s set other than `exclude` (`exclude` itself if there is none),
        chosen by one uniform each."""
        xp = self.xp
        key = key.astype(np.int64)
        count = self._count[key]
        others = xp.maximum(count - 1, 1)
        slot = (uniform * others).astype(np.int64)
        at = xp.minimum(self._start[key] + slot, max(self._members.shape[0] - 1, 0))
        chosen = self._members[at]
        # Skip over the excluded citizen by moving to the last slot, which the draw never takes.
        clash = (chosen == exclude) & (count > 1)
        chosen[clash] = self._members[self._start[key[clash]] + count[clash] - 1]
        nobody = count == 0
        chosen[nobody] = exclude[nobody]
        return chosen
