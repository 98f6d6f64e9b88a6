"""True events, drawn sparsely: a Poisson total per behaviour, then who by weight, then when.

The cost is one pass over the citizens per behaviour (the cumulative weights) plus the events
themselves; nothing is done per citizen per day.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from creditsim.arrays.backend import namespace, to_host
from creditsim.arrays.streams import stream
from creditsim.population import Population
from creditsim.scenario.schema import AGE_BANDS, Scenario
from creditsim.scenario.timeline import Phases


@dataclass
class Events:
    """True events, grouped by behaviour (in catalogue order); within a behaviour, any order."""

    day: np.ndarray  # int32
    person: np.ndarray  # int32, the true actor
    behaviour: np.ndarray  # int16, index into scenario.behaviours, non-decreasing
    # uint32: the event's place among its behaviour's draws (extra events from EXTRA on), which
    # with the behaviour is the event's identity: every later draw about it is keyed by that.
    serial: np.ndarray

    @property
    def size(self) -> int:
        return int(self.day.shape[0])

    def identity(self) -> np.ndarray:
        """Each event's identity (uint64): its behaviour and serial, unique within a shard."""
        identity = self.behaviour.astype(np.uint64)  # then in place: one array of events
        identity <<= np.uint64(32)
        identity |= self.serial.astype(np.uint64, copy=False)
        return identity

    def take(self, index: np.ndarray) -> Events:
        """A subset; `index` must be increasing to keep the grouping by behaviour."""
        return Events(*(column[index] for column in self.columns()))

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.day, self.person, self.behaviour, self.serial

    def bounds(self, kinds: int) -> list[int]:
        """Where each behaviour's events begin, and where the last one's end."""
        xp = namespace(self.behaviour)
        at = xp.arange(kinds + 1, dtype=self.behaviour.dtype)  # of the same type: no conversion
        return to_host(xp.searchsorted(self.behaviour, at)).tolist()

    def of_behaviours(self, chosen: np.ndarray) -> Events:
        """The events of the behaviours where `chosen` (a host array) is true, by slicing."""
        slices = self._slices(chosen)
        return Events(*(_cut(column, slices) for column in self.columns()))

    def sliced(self, column: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """A column's values for the events of the behaviours where `chosen` is true: a view
        where those behaviours lie side by side (all of them, say), else a copy."""
        return _cut(column, self._slices(chosen))

    def _slices(self, chosen: np.ndarray) -> list[slice]:
        """The events of the chosen behaviours as slices, behaviours side by side in one."""
        bounds = self.bounds(chosen.shape[0])
        slices: list[slice] = []
        for b in np.flatnonzero(chosen).tolist():
            if slices and slices[-1].stop == bounds[b]:
                slices[-1] = slice(slices[-1].start, int(bounds[b + 1]))
            else:
                slices.append(slice(int(bounds[b]), int(bounds[b + 1])))
        return slices

    def to_host(self) -> Events:
        return Events(*(to_host(column) for column in self.columns()))


EXTRA = 1 << 31  # the first serial of a behaviour's extra events (gaming)
# Picks are found by a binary search each where they are fewer than one in this many weights
# (at a million weights: 0.7 ms for 10,000 picks against 1.6 ms for the merge; even at 50,000).
SEARCH_BELOW = 32


def draw_events(
    scenario: Scenario,
    pop: Population,
    days: int,
    seed: int,
    shard: int,
    rates: dict[int, float] | None = None,
    purpose: str = "behaviour",
) -> Events:
    """Every true event over `days`, before any behavioural response, grouped by behaviour.

    Candidates are drawn by propensity alone (one cumulative sum per category, shared by its
    behaviours), then thinned by the age multiplier over its maximum: the accepted events are
    exactly a Poisson draw with weight age × propensity.

    `rates` (behaviour index -> rate per year) draws only those behaviours, at those rates, on
    streams named after `purpose`: extra events (gaming) that leave the base events untouched."""
    plan = [
        (index, b.rate_per_year if rates is None else rates.get(index, 0.0), purpose)
        for index, b in enumerate(scenario.behaviours)
    ]
    return _draw(scenario, pop, days, seed, shard, plan)[0]


def draw_with_extra(
    scenario: Scenario,
    pop: Population,
    days: int,
    seed: int,
    shard: int,
    extra_rates: dict[int, float],
    extra_purpose: str = "gaming",
    phases: Phases | None = None,
) -> tuple[Events, np.ndarray]:
    """The events of `draw_events`, with extra events of some behaviours (`extra_rates`, on
    streams named after `extra_purpose`) placed after each behaviour's own: the same events
    as drawing both and merging them, without the copy. Also which events are extra.

    Under a timeline (`phases`), a behaviour whose rate or age multipliers change by date is
    drawn at its highest rate and thinned to the rate in force on each event's day."""
    plan = []
    for index, behaviour in enumerate(scenario.behaviours):
        plan.append((index, behaviour.rate_per_year, "behaviour"))
        if index in extra_rates:
            plan.append((index, extra_rates[index], extra_purpose))
    events, sizes = _draw(scenario, pop, days, seed, shard, plan, _schedules(phases))
    xp = namespace(events.day)
    flags = np.array([part[2] == extra_purpose for part, _ in sizes], dtype=bool)
    counts = np.array([count for _, count in sizes], dtype=np.int64)
    return events, xp.asarray(np.repeat(flags, counts))


def _schedules(phases: Phases | None) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For each behaviour whose rate or age multipliers change by date: the day each phase
    begins, and its weights per (phase, age band): rate × age multiplier."""
    if phases is None or phases.constant:
        return {}
    first = np.asarray(phases.first_day, dtype=np.int64)
    out = {}
    for index in range(len(phases.scenarios[0].behaviours)):
        weights = np.stack(
            [
                s.behaviours[index].rate_per_year * _age_table(s.behaviours[index])
                for s in phases.scenarios
            ]
        )
        if np.any(weights != weights[0]):
            out[index] = (first, weights.astype(np.float32))
    return out


def _draw_thinned(sampler, category, schedule, pop, days, rng, xp):
    """Who and when, for a behaviour whose weight changes by phase: candidates at the highest
    weight, each kept with the weight in force on its day over that highest (thinning)."""
    first, weights = schedule
    top = float(weights.max())
    if top == 0.0:
        return xp.zeros(0, dtype=np.int32), xp.zeros(0, dtype=np.int32)
    count = int(rng.poisson(top * days / 365.0 * sampler.total(category)))
    person = sampler.draw(category, count, rng)
    day = rng.integers(0, days, size=count, dtype=np.int32)
    phase = xp.asarray(np.searchsorted(first, to_host(day), side="right") - 1)
    weight = xp.asarray(weights)[phase, pop.age_band[person]]
    keep = rng.random(count, dtype=np.float32) * np.float32(top) < weight
    return person[keep], day[keep]


def _draw(
    scenario, pop, days, seed, shard, plan, schedules=None
) -> tuple[Events, list[tuple[tuple, int]]]:
    """The events of each (behaviour index, rate, purpose) of `plan`, in its order; with the
    number drawn for each part that has any. A behaviour with a schedule (`_schedules`) is
    drawn by thinning."""
    parts: list[tuple[np.ndarray, np.ndarray, int]] = []
    sizes: list[tuple[tuple, int]] = []
    xp = namespace(pop.age_band)
    sampler = _Sampler(pop, xp)
    for index, rate, purpose in plan:
        behaviour = scenario.behaviours[index]
        rng = stream(seed, shard, f"{purpose}:{behaviour.name}", xp)
        category = pop.categories.index(behaviour.category) if behaviour.propensity_weight else None
        if purpose == "behaviour" and index in (schedules or {}):
            person, day = _draw_thinned(sampler, category, schedules[index], pop, days, rng, xp)
            parts.append((day, person, index, xp.arange(person.shape[0], dtype=np.uint32)))
            sizes.append(((index, rate, purpose), int(person.shape[0])))
            continue
        age = _age_table(behaviour)
        ceiling = float(age.max())
        if ceiling == 0.0 or rate == 0.0:
            continue
        total = sampler.total(category)
        count = int(rng.poisson(rate * days / 365.0 * ceiling * total))
        person = sampler.draw(category, count, rng)
        if np.any(age != ceiling):
            multiplier = xp.asarray(age)[pop.age_band[person]]
            accept = rng.random(count, dtype=np.float32) * ceiling < multiplier
            person = person[accept]
        day = rng.integers(0, days, size=person.shape[0], dtype=np.int32)
        first = 0 if purpose == "behaviour" else EXTRA
        serial = xp.arange(first, first + person.shape[0], dtype=np.uint32)
        parts.append((day, person, index, serial))
        sizes.append(((index, rate, purpose), int(person.shape[0])))
    if not parts:
        empty = xp.zeros(0, dtype=np.int32)
        no_serial = xp.zeros(0, dtype=np.uint32)
        return Events(empty, empty.copy(), xp.zeros(0, dtype=np.int16), no_serial), sizes
    days, persons, kinds, serials = (list(column) for column in zip(*parts, strict=True))
    del parts
    behaviour = xp.concatenate(
        [xp.full(d.shape[0], k, dtype=np.int16) for d, k in zip(days, kinds, strict=True)]
    )
    day, person, serial = _joined(days, xp), _joined(persons, xp), _joined(serials, xp)
    return Events(day, person, behaviour, serial), sizes


def _cut(column: np.ndarray, slices: list[slice]) -> np.ndarray:
    """The column's items in `slices`: a view where there is one slice, else a copy."""
    if len(slices) == 1:
        return column[slices[0]]
    return namespace(column).concatenate([column[s] for s in slices]) if slices else column[:0]


def _joined(parts: list, xp: ModuleType):
    """The parts of a column joined, the list emptied: each part is let go as soon as its
    column is whole, so that at most one column is held twice over."""
    joined = xp.concatenate(parts)
    parts.clear()
    return joined


def expected_weight(scenario: Scenario, pop: Population, index: int) -> float:
    """The sum of the behaviour's weights over the citizens: events per year = rate × this."""
    behaviour = scenario.behaviours[index]
    xp = namespace(pop.age_band)
    weights = xp.asarray(_age_table(behaviour))[pop.age_band].astype(np.float64)
    if behaviour.propensity_weight:
        weights *= pop.propensity[pop.categories.index(behaviour.category)]
    return float(weights.sum())


class _Sampler:
    """Draws citizens uniformly or by a category's propensity; cumulative sums are cached."""

    def __init__(self, pop: Population, xp: ModuleType) -> None:
        self.pop = pop
        self.xp = xp
        self._cumulative: dict[int, np.ndarray] = {}

    def _cumsum(self, category: int) -> np.ndarray:
        if category not in self._cumulative:
            column = self.pop.propensity[category]
            self._cumulative[category] = self.xp.cumsum(column, dtype=np.float64)
        return self._cumulative[category]

    def total(self, category: int | None) -> float:
        if category is None:
            return float(self.pop.size)
        cumulative = self._cumsum(category)
        return float(cumulative[-1]) if cumulative.size else 0.0

    def draw(self, category: int | None, count: int, rng: np.random.Generator) -> np.ndarray:
        if category is None:
            return rng.integers(0, self.pop.size, size=count, dtype=np.int32)
        cumulative = self._cumsum(category)
        picks = _sorted_uniforms(rng, count, self.xp)
        picks *= cumulative[-1]
        person = _weights_at_or_below(cumulative, picks, self.xp)
        del picks
        self.xp.minimum(person, self.pop.size - 1, out=person)
        return person.astype(np.int32)


def _weights_at_or_below(cumulative: np.ndarray, picks: np.ndarray, xp: ModuleType) -> np.ndarray:
    """For each pick (both sorted), how many cumulative weights are at or below it: what
    `searchsorted(cumulative, picks, side="right")` gives, by one merge of the two sorted
    arrays instead of a binary search per pick (two to three times faster at a million).

    The bits of a float at or above 0 order as the float does: each value's bits, shifted up
    one, take a last bit that says whether it is a pick (1) or a weight (0), so that one sort
    of plain integers (the two runs merged) puts each pick after the weights at or below it and
    after the picks before it: its place less its rank is that count. Where the picks are few
    beside the weights (a rare behaviour), a binary search each costs less than that pass."""
    weights = cumulative.shape[0]
    if picks.shape[0] * SEARCH_BELOW < weights:
        return xp.searchsorted(cumulative, picks, side="right")
    both = xp.empty(weights + picks.shape[0], dtype=np.uint64)
    xp.left_shift(cumulative.view(np.uint64), np.uint64(1), out=both[:weights])
    xp.left_shift(picks.view(np.uint64), np.uint64(1), out=both[weights:])
    both[weights:] |= np.uint64(1)
    both.sort(kind="stable")
    both &= np.uint64(1)
    place = xp.flatnonzero(both != 0)  # a mask of booleans: NumPy's fast way to their places
    del both
    place -= xp.arange(picks.shape[0], dtype=place.dtype)
    return place


def _age_table(behaviour) -> np.ndarray:
    return np.array([behaviour.age_multipliers.get(a, 1.0) for a in AGE_BANDS], dtype=np.float32)


def _sorted_uniforms(rng, count: int, xp: ModuleType) -> np.ndarray:
    """`count` sorted uniforms in O(count), from normalised sums of exponential gaps.

    Sorted draws let the citizens be picked by one merge with the cumulative weights."""
    sums = xp.cumsum(rng.standard_exponential(count + 1))
    picks = sums[:-1]
    picks /= sums[-1]
    return picks
