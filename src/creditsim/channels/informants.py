"""Informant apps: citizens report what they witness, and a share of reports is false or
malicious. Each report, true or false, also earns its informer a record of having informed."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.backend import namespace
from creditsim.arrays.streams import Keyed, derive
from creditsim.behaviours import Events
from creditsim.channels.records import (
    CORRECT,
    INFORMANT_FALSE,
    NO_ACTOR,
    Records,
    of_events,
    spawned,
)
from creditsim.population import CHILD, Population
from creditsim.scenario.schema import CHANNELS, Scenario

CHANNEL = CHANNELS.index("informant")


CREDIT = 101  # the tag of an informer's record, derived from the report's identity


def observe(
    scenario: Scenario,
    pop: Population,
    events: Events,
    draws: Keyed,
    days: int,
    boost=1.0,
) -> Records:
    """Reports, keyed by identity: each event reported (draw 0); each report brings a Poisson
    number of false ones (draw 1), of its kind, against a uniform adult on a uniform day; each
    report, true or false, credits a uniform adult informer."""
    xp = namespace(events.day)
    informant = scenario.channels.informant
    informing_kind = len(scenario.behaviours)
    chance = informant.report_rate * boost * informing_boost(scenario)
    identity = events.identity()
    at = xp.flatnonzero(draws.uniforms(identity, 0) < chance)
    reported, reported_id = events.take(at), of_events(identity[at], CHANNEL)
    true_reports = Records.build(
        reported.day, reported.person, reported.person, reported.behaviour, CHANNEL, CORRECT,
        reported_id,
    )  # fmt: skip
    false_share = informant.false_share
    parent, false_id = spawned(
        draws, reported_id, false_share / (1.0 - false_share), 1, INFORMANT_FALSE
    )
    parts = [true_reports]
    if false_id.shape[0]:
        kind = reported.behaviour[parent]
        target = _adults(pop, draws, false_id)
        day = draws.below(false_id, days, 1).astype(np.int32)
        parts.append(Records.build(day, target, NO_ACTOR, kind, CHANNEL, INFORMANT_FALSE, false_id))
    reports = Records.concat(parts)
    credit_id = derive(reports.id, CREDIT)
    informer = _adults(pop, draws, credit_id)
    credit = Records.build(
        reports.day, informer, informer, xp.full(reports.size, informing_kind), CHANNEL, CORRECT,
        credit_id,
    )  # fmt: skip
    return Records.concat([reports, credit])


def _adults(pop: Population, draws: Keyed, ids: np.ndarray) -> np.ndarray:
    """A uniform adult per id, by rejection (draws 2, 3, ...): children are a minority, so a
    few rounds suffice."""
    xp = namespace(pop.age_band)
    chosen = draws.below(ids, pop.size, 2).astype(np.int32)
    for round in range(64):
        redo = xp.flatnonzero(pop.age_band[chosen] == CHILD)
        if redo.size == 0:
            break
        chosen[redo] = draws.below(ids[redo], pop.size, 3 + round).astype(np.int32)
    return chosen


def informing_boost(scenario: Scenario) -> float:
    """Informing when it pays: the factor on reports when informing earns points."""
    informing = scenario.response.informing
    pays = scenario.channels.informant.informer_points > 0
    if not scenario.responding() or not informing.enabled or not pays:
        return 1.0
    return 1.0 + informing.uplift * scenario.perceived_share()
