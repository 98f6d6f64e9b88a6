"""Platform monitoring of purchases, gaming time and posts by a classifier.

Recall is the share of true events flagged; precision fixes how many flags are false: for every
true flag, (1 - precision) / precision false ones land on citizens who did nothing."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.backend import namespace
from creditsim.arrays.streams import Keyed
from creditsim.behaviours import Events
from creditsim.channels.records import (
    CORRECT,
    NO_ACTOR,
    PLATFORM_FALSE,
    Records,
    of_events,
    spawned,
)
from creditsim.population import Population
from creditsim.scenario.schema import CHANNELS, Scenario

CHANNEL = CHANNELS.index("platform")


def observe(
    scenario: Scenario,
    pop: Population,
    events: Events,
    draws: Keyed,
    days: int,
    boost=1.0,
) -> Records:
    """Flags, keyed by identity: each event flagged (draw 0); each flag brings a Poisson
    number of false ones (draw 1, mean (1 - precision) / precision), each on a uniform citizen
    (its draw 0) on a uniform day (its draw 1), of the flagged event's kind."""
    xp = namespace(events.day)
    platform = scenario.channels.platform
    identity = events.identity()
    at = xp.flatnonzero(draws.uniforms(identity, 0) < platform.recall * boost)
    flagged, flagged_id = events.take(at), of_events(identity[at], CHANNEL)
    true_records = Records.build(
        flagged.day, flagged.person, flagged.person, flagged.behaviour, CHANNEL, CORRECT,
        flagged_id,
    )  # fmt: skip
    mean = (1.0 - platform.precision) / platform.precision
    parent, false_id = spawned(draws, flagged_id, mean, 1, PLATFORM_FALSE)
    if false_id.shape[0] == 0:
        return true_records
    kind = flagged.behaviour[parent]
    subject = draws.below(false_id, pop.size, 0).astype(np.int32)
    day = draws.below(false_id, days, 1).astype(np.int32)
    false_records = Records.build(day, subject, NO_ACTOR, kind, CHANNEL, PLATFORM_FALSE, false_id)
    return Records.concat([true_records, false_records])
