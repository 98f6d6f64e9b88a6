"""Vehicle recognition for traffic offences: the record goes to the plate's owner, who is not
always the driver (here the household's head owns the car)."""

from __future__ import annotations

from creditsim.arrays.backend import namespace
from creditsim.arrays.streams import Keyed
from creditsim.behaviours import Events
from creditsim.channels.cameras import coverage
from creditsim.channels.records import CORRECT, PLATE_OWNER, Records, of_events
from creditsim.population import Population
from creditsim.scenario.schema import CHANNELS, Scenario

CHANNEL = CHANNELS.index("plate")


def observe(
    scenario: Scenario, pop: Population, events: Events, draws: Keyed, boost=1.0
) -> Records:
    """Plate records; each event's draws keyed by its identity: read (0), driver borrowed (1)."""
    xp = namespace(events.day)
    plate = scenario.channels.plate
    identity = events.identity()
    chance = coverage(scenario, pop, events) * plate.read_rate * boost
    at = xp.flatnonzero(draws.uniforms(identity, 0) < chance)
    read, read_id = events.take(at), identity[at]
    borrowed = draws.uniforms(read_id, 1) < plate.other_driver_share
    subject = xp.where(borrowed, pop.head[read.person], read.person)
    cause = xp.where(subject != read.person, PLATE_OWNER, CORRECT)
    return Records.build(
        read.day, subject, read.person, read.behaviour, CHANNEL, cause, of_events(read_id, CHANNEL)
    )
