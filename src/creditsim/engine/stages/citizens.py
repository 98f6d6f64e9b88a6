"""The citizens and what they truly do: the population, then their true events."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from creditsim.arrays.backend import namespace, to_host
from creditsim.arrays.streams import stream
from creditsim.behaviours import Events, draw_with_extra
from creditsim.engine.stage import stage
from creditsim.engine.state import ShardState
from creditsim.population import Population, build_population
from creditsim.response import gaming_rates
from creditsim.scenario.loading import resolve
from creditsim.scenario.schema import Scenario


@stage("calendar", reads=("scenario", "days"), writes=("phases",))
def calendar(state: ShardState) -> None:
    """The scenario in force in each dated phase of the run (one phase without a timeline)."""
    state.phases = resolve(state.scenario).within(state.days)


@stage(
    "population",
    reads=("scenario", "size", "seed", "shard", "xp"),
    writes=("pop",),
    purposes=("population",),
)
def population(state: ShardState) -> None:
    """Citizens in whole households, with regions, groups, ages, incomes and propensities."""
    rng = stream(state.seed, state.shard, "population", state.xp)
    state.pop = build_population(state.scenario, state.size, rng, state.xp)


@stage(
    "behaviours",
    reads=("scenario", "phases", "pop", "days", "seed", "shard"),
    writes=("events", "gamed", "without_system"),
    purposes=("behaviour:{behaviour}", "gaming:{behaviour}"),
)
def behaviours(state: ShardState) -> None:
    """True events, drawn sparsely: a Poisson total per behaviour, then who by weight; with
    the point-earning acts done only for the points (gaming) on their own streams."""
    scenario, pop = state.scenario, state.pop
    events, gamed = draw_with_extra(
        scenario, pop, state.days, state.seed, state.shard, gaming_rates(scenario),
        phases=state.phases,
    )  # fmt: skip
    # The events before any response are exactly those of the same citizens without the system
    # (common random numbers), so the system's effect on behaviour is a paired difference.
    without_system = by_behaviour_and_group(events, pop, scenario)
    if bool(gamed.any()):
        xp = namespace(gamed)
        gaming = events.take(xp.flatnonzero(gamed))
        without_system = without_system - by_behaviour_and_group(gaming, pop, scenario)
    state.events, state.gamed, state.without_system = events, gamed, without_system


def by_behaviour_and_group(events: Events, pop: Population, scenario: Scenario) -> np.ndarray:
    """Event counts per (behaviour, group), flattened."""
    xp = namespace(events.behaviour)
    groups = len(scenario.groups)
    bounds = events.bounds(len(scenario.behaviours))
    group = pop.group[events.person]
    counts = [
        xp.count_nonzero(group[lo:hi] == g) for lo, hi in pairwise(bounds) for g in range(groups)
    ]
    return to_host(xp.stack(counts))
