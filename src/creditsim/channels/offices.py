"""Channels that check identity and so record the right citizen: transport operators' ticket
checks, courts, tax offices and the civil registries that log merits (blood, volunteering)."""

from __future__ import annotations

from creditsim.arrays.backend import namespace
from creditsim.arrays.streams import Keyed
from creditsim.behaviours import Events
from creditsim.channels.records import CORRECT, Records, of_events
from creditsim.scenario.schema import CHANNELS, DetectionChannel


def observe(
    name: str,
    settings: DetectionChannel,
    events: Events,
    draws: Keyed,
    days: int,
    boost=1.0,
) -> Records:
    """Records of the events the office detects (one draw per event, keyed by its identity),
    reaching the system `delay_days` later."""
    xp = namespace(events.day)
    channel = CHANNELS.index(name)
    identity = events.identity()
    at = xp.flatnonzero(draws.uniforms(identity, 0) < settings.detect_rate * boost)
    found, found_id = events.take(at), identity[at]
    day = found.day + settings.delay_days
    inside = xp.flatnonzero(day < days)
    person = found.person[inside]
    return Records.build(
        day[inside], person, person, found.behaviour[inside], channel, CORRECT,
        of_events(found_id[inside], channel),
    )  # fmt: skip
