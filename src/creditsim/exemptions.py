"""Exemptions: officials and the well connected, whose records are dropped or whose sanctions
are waived. Who is exempt is drawn per citizen, keyed by the citizen, so the rest of the run keeps
its common random numbers."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.streams import keyed
from creditsim.intervals import Intervals
from creditsim.population import Population
from creditsim.scenario.schema import Scenario


def exempt_citizens(scenario: Scenario, pop: Population, seed: int, shard: int) -> np.ndarray:
    settings = scenario.exemptions
    share = np.array([settings.share_by_group.get(g.name, settings.share) for g in scenario.groups])
    if not share.any():
        return np.zeros(pop.size, dtype=bool)
    citizen = np.arange(pop.size, dtype=np.uint64)
    return keyed(seed, shard, "exemptions").uniforms(citizen) < share[pop.group]


def waive(intervals: Intervals, exempt: np.ndarray) -> Intervals:
    keep = np.flatnonzero(~exempt[intervals.person])
    return Intervals(intervals.person[keep], intervals.start[keep], intervals.end[keep])
