"""Vehicle recognition for traffic offences: the record goes to the plate's owner, who is not
always the driver (here the household's head owns the car)."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.backend import namespace
from creditsim.behaviours import Events
from creditsim.channels.cameras import coverage
from creditsim.channels.records import CORRECT, PLATE_OWNER, Records
from creditsim.population import Population
from creditsim.scenario.schema import CHANNELS, Scenario

CHANNEL = CHANNELS.index("plate")


def observe(
    scenario: Scenario, pop: Population, events: Events, rng: np.random.Generator, boost=1.0
) -> Records:
    xp = namespace(events.day)
    plate = scenario.channels.plate
    chance = coverage(scenario, pop.region[events.person], events.day) * plate.read_rate * boost
    read = events.take(xp.flatnonzero(rng.random(events.size) < chance))
    borrowed = rng.random(read.size) < plate.other_driver_share
    subject = xp.where(borrowed, pop.head[read.person], read.person)
    cause = xp.where(subject != read.person, PLATE_OWNER, CORRECT)
    return Records.build(read.day, subject, read.person, read.behaviour, CHANNEL, cause)
