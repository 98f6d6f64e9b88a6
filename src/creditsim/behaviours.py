"""True events, drawn sparsely: a Poisson total per behaviour, then who by weight, then when.

The cost is one pass over the citizens per behaviour (the cumulative weights) plus the events
themselves; nothing is done per citizen per day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creditsim.engine.streams import stream
from creditsim.population import Population
from creditsim.scenario.schema import AGE_BANDS, Scenario


@dataclass
class Events:
    day: np.ndarray  # int32
    person: np.ndarray  # int32, the true actor
    behaviour: np.ndarray  # int16, index into scenario.behaviours

    @property
    def size(self) -> int:
        return int(self.day.shape[0])

    def take(self, index: np.ndarray) -> Events:
        return Events(self.day[index], self.person[index], self.behaviour[index])


def draw_events(
    scenario: Scenario, pop: Population, days: int, seed: int, shard: int
) -> Events:
    """Every true event over `days`, before any behavioural response, sorted by day."""
    parts: list[tuple[np.ndarray, np.ndarray, int]] = []
    for index, behaviour in enumerate(scenario.behaviours):
        rng = stream(seed, shard, f"behaviour:{behaviour.name}")
        weights = _weights(behaviour, pop)
        cumulative = np.cumsum(weights, dtype=np.float64)
        total = float(cumulative[-1]) if cumulative.size else 0.0
        expected = behaviour.rate_per_year * days / 365.0 * total
        count = int(rng.poisson(expected)) if expected > 0 else 0
        if count == 0:
            continue
        person = np.searchsorted(cumulative, _sorted_uniforms(rng, count) * total, side="right")
        np.minimum(person, pop.size - 1, out=person)
        day = rng.integers(0, days, size=count, dtype=np.int32)
        parts.append((day, person.astype(np.int32), index))
    if not parts:
        empty = np.zeros(0, dtype=np.int32)
        return Events(empty, empty.copy(), np.zeros(0, dtype=np.int16))
    day = np.concatenate([p[0] for p in parts])
    person = np.concatenate([p[1] for p in parts])
    behaviour = np.concatenate([np.full(p[0].shape[0], p[2], dtype=np.int16) for p in parts])
    order = np.argsort(day.astype(np.int16) if days < 32768 else day, kind="stable")
    return Events(day[order], person[order], behaviour[order])


def expected_weight(scenario: Scenario, pop: Population, index: int) -> float:
    """The sum of the behaviour's weights over the citizens: events per year = rate × this."""
    return float(_weights(scenario.behaviours[index], pop).sum(dtype=np.float64))


def _weights(behaviour, pop: Population) -> np.ndarray:
    age = np.array([behaviour.age_multipliers.get(a, 1.0) for a in AGE_BANDS], dtype=np.float32)
    weights = age[pop.age_band]
    if behaviour.propensity_weight:
        weights = weights * pop.propensity[:, pop.categories.index(behaviour.category)]
    return weights


def _sorted_uniforms(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` sorted uniforms in O(count), from normalised sums of exponential gaps.

    Sorted draws make the `searchsorted` that picks citizens walk memory in order."""
    gaps = rng.standard_exponential(count + 1)
    sums = np.cumsum(gaps)
    return sums[:-1] / sums[-1]
