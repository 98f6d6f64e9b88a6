"""Platform monitoring of purchases, gaming time and posts by a classifier.

Recall is the share of true events flagged; precision fixes how many flags are false: for every
true flag, (1 - precision) / precision false ones land on citizens who did nothing."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.backend import namespace
from creditsim.behaviours import Events
from creditsim.channels.records import CORRECT, NO_ACTOR, PLATFORM_FALSE, Records
from creditsim.population import Population
from creditsim.scenario.schema import CHANNELS, Scenario

CHANNEL = CHANNELS.index("platform")


def observe(
    scenario: Scenario,
    pop: Population,
    events: Events,
    rng: np.random.Generator,
    days: int,
    boost=1.0,
) -> Records:
    xp = namespace(events.day)
    platform = scenario.channels.platform
    flagged = events.take(xp.flatnonzero(rng.random(events.size) < platform.recall * boost))
    true_records = Records.build(
        flagged.day, flagged.person, flagged.person, flagged.behaviour, CHANNEL, CORRECT
    )
    false_count = int(rng.poisson(flagged.size * (1.0 - platform.precision) / platform.precision))
    if false_count == 0 or flagged.size == 0:
        return true_records
    kind = flagged.behaviour[rng.integers(0, flagged.size, size=false_count)]
    subject = rng.integers(0, pop.size, size=false_count, dtype=np.int32)
    day = rng.integers(0, days, size=false_count, dtype=np.int32)
    false_records = Records.build(day, subject, NO_ACTOR, kind, CHANNEL, PLATFORM_FALSE)
    return Records.concat([true_records, false_records])
