"""Informant apps: citizens report what they witness, and a share of reports is false or
malicious. Each report, true or false, also earns its informer a record of having informed."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.backend import namespace
from creditsim.behaviours import Events
from creditsim.channels.records import CORRECT, INFORMANT_FALSE, NO_ACTOR, Records
from creditsim.population import CHILD, Population
from creditsim.scenario.schema import CHANNELS, Scenario

CHANNEL = CHANNELS.index("informant")


def observe(
    scenario: Scenario,
    pop: Population,
    events: Events,
    rng: np.random.Generator,
    days: int,
    boost=1.0,
) -> Records:
    xp = namespace(events.day)
    informant = scenario.channels.informant
    informing_kind = len(scenario.behaviours)
    chance = informant.report_rate * boost * informing_boost(scenario)
    reported = events.take(xp.flatnonzero(rng.random(events.size) < chance))
    true_reports = Records.build(
        reported.day, reported.person, reported.person, reported.behaviour, CHANNEL, CORRECT
    )
    false_share = informant.false_share
    false_count = int(rng.poisson(reported.size * false_share / (1.0 - false_share)))
    parts = [true_reports]
    if false_count and reported.size:
        kind = reported.behaviour[rng.integers(0, reported.size, size=false_count)]
        target = _adults(pop, rng, false_count)
        day = rng.integers(0, days, size=false_count, dtype=np.int32)
        parts.append(Records.build(day, target, NO_ACTOR, kind, CHANNEL, INFORMANT_FALSE))
    reports = Records.concat(parts)
    informer = _adults(pop, rng, reports.size)
    credit = Records.build(
        reports.day, informer, informer, xp.full(reports.size, informing_kind), CHANNEL, CORRECT
    )
    return Records.concat([reports, credit])


def _adults(pop: Population, rng: np.random.Generator, count: int) -> np.ndarray:
    """Uniform adults, by rejection: children are a minority, so a few rounds suffice."""
    xp = namespace(pop.age_band)
    chosen = rng.integers(0, pop.size, size=count, dtype=np.int32)
    for _ in range(64):
        redo = xp.flatnonzero(pop.age_band[chosen] == CHILD)
        if redo.size == 0:
            break
        chosen[redo] = rng.integers(0, pop.size, size=redo.size, dtype=np.int32)
    return chosen


def informing_boost(scenario: Scenario) -> float:
    """Informing when it pays: the factor on reports when informing earns points."""
    informing = scenario.response.informing
    pays = scenario.channels.informant.informer_points > 0
    if not scenario.responding() or not informing.enabled or not pays:
        return 1.0
    return 1.0 + informing.uplift * scenario.perceived_share()
