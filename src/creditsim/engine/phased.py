"""The stages under a timeline: each event, record or interval is decided by the scenario in
force on its day.

Every draw of the channels, deterrence and appeals is keyed by the identity of what it decides,
so deciding the items of each phase apart, each under its phase's scenario, gives exactly what
deciding them together gives when nothing changes: with one phase these are the plain calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from creditsim.arrays.backend import namespace, to_host
from creditsim.behaviours import Events
from creditsim.channels import Records, observe
from creditsim.intervals import Intervals, union
from creditsim.population import Population
from creditsim.scenario.schema import Scenario
from creditsim.scenario.timeline import Phases

OPEN_END = np.iinfo(np.int32).max


def parts(phases: Phases, day) -> Iterator[tuple[int, Scenario, np.ndarray]]:
    """(phase, its scenario, the indexes of the items dated in it, increasing) for each phase
    holding any item; one part holding everything when nothing changes."""
    xp = namespace(day)
    if phases.constant:
        yield 0, phases.scenarios[0], xp.arange(day.shape[0])
        return
    phase = xp.asarray(phases.of(to_host(day)))
    for k, scenario in enumerate(phases.scenarios):
        index = xp.flatnonzero(phase == k)
        if index.size:
            yield k, scenario, index


def observe_phased(
    phases: Phases, pop: Population, events: Events, days: int, seed: int, shard: int
) -> Records:
    """The records of `events`, each event observed by the channels in force on its day."""
    if phases.constant:
        return observe(phases.scenarios[0], pop, events, days, seed, shard)
    found = [
        observe(scenario, pop, events.take(index), days, seed, shard)
        for _, scenario, index in parts(phases, events.day)
    ]
    return Records.concat(found) if found else Records.empty(namespace(events.day))


def keep_phased(
    phases: Phases, events: Events, decide: Callable[[Scenario, Events], np.ndarray | None]
) -> np.ndarray | None:
    """Which events still happen, each decided by `decide` under the scenario of its day; None
    where all do."""
    if phases.constant:
        return decide(phases.scenarios[0], events)
    xp = namespace(events.day)
    keep = None
    for _, scenario, index in parts(phases, events.day):
        part = decide(scenario, events.take(index))
        if part is None:
            continue
        if keep is None:
            keep = xp.ones(events.size, dtype=bool)
        keep[index] = part
    return keep


def clip(intervals: Intervals, first: int, end: int | None) -> Intervals:
    """The parts of the intervals inside [first, end) (end None: open)."""
    stop = OPEN_END if end is None else end
    start = np.maximum(intervals.start, first)
    finish = np.minimum(intervals.end, stop)
    inside = start < finish
    return Intervals(
        intervals.person[inside], start[inside].astype(np.int32), finish[inside].astype(np.int32)
    )


def in_force_each_day(
    phases: Phases, decide: Callable[[Scenario], dict[str, Intervals]]
) -> dict[str, Intervals]:
    """Intervals by name where, on each day, the rules in force that day decide: `decide` gives
    each phase's intervals over the whole run, of which the phase's own days are kept."""
    if phases.constant:
        return decide(phases.scenarios[0])
    pieces: dict[str, list[Intervals]] = {}
    for (first, end), scenario in zip(phases.windows(), phases.scenarios, strict=True):
        for name, found in decide(scenario).items():
            pieces.setdefault(name, []).append(clip(found, first, end))
    return {name: union(found) for name, found in pieces.items()}


__all__ = ["clip", "in_force_each_day", "keep_phased", "observe_phased", "parts"]
