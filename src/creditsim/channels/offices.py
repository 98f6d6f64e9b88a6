"""Channels that check identity and so record the right citizen: transport operators' ticket
checks, courts, tax offices and the civil registries that log merits (blood, volunteering)."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.backend import namespace
from creditsim.behaviours import Events
from creditsim.channels.records import CORRECT, Records
from creditsim.scenario.schema import CHANNELS, DetectionChannel


def observe(
    name: str,
    settings: DetectionChannel,
    events: Events,
    rng: np.random.Generator,
    days: int,
    boost=1.0,
) -> Records:
    xp = namespace(events.day)
    found = events.take(xp.flatnonzero(rng.random(events.size) < settings.detect_rate * boost))
    day = found.day + settings.delay_days
    inside = xp.flatnonzero(day < days)
    return Records.build(
        day[inside],
        found.person[inside],
        found.person[inside],
        found.behaviour[inside],
        CHANNELS.index(name),
        CORRECT,
    )
