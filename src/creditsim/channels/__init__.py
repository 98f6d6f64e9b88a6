"""Channels turn true events into records, imperfectly, and keep the truth beside each record."""

from __future__ import annotations

from functools import partial

import numpy as np

from creditsim.arrays.backend import blocks, namespace
from creditsim.arrays.streams import keyed
from creditsim.behaviours import Events
from creditsim.channels import cameras, informants, offices, plates, platforms, pooling
from creditsim.channels.records import CAUSES, NO_ACTOR, Records
from creditsim.channels.targeting import group_multiplier
from creditsim.population import Population
from creditsim.scenario.schema import CHANNELS, Scenario

__all__ = ["CAUSES", "NO_ACTOR", "Records", "observe", "seen_by"]


EVENTS_AT_ONCE = 1 << 20  # events a channel that records them in order looks at together


def _in_blocks(events: Events, boost, observe_block, draws) -> Records:
    """The records of a channel whose records follow its events' order (cameras, plates,
    offices), a block of events at a time: the same records (each draw is keyed by its event),
    in a fraction of the memory, each block's arrays nearer the CPU's cache."""
    spans = blocks(events.size, namespace(events.day), EVENTS_AT_ONCE)
    if len(spans) <= 1:
        return observe_block(events, draws, boost)
    scalar = isinstance(boost, float | int)
    return Records.concat(
        [
            observe_block(
                Events(*(column[start:end] for column in events.columns())),
                draws,
                boost if scalar else boost[start:end],
            )
            for start, end in spans
        ]
    )


def _office(name, settings, events, draws, boost, days: int) -> Records:
    return offices.observe(name, settings, events, draws, days, boost)


def seen_by(scenario: Scenario) -> np.ndarray:
    """Boolean table (behaviour, channel): which enabled channels can see which behaviour."""
    table = np.zeros((len(scenario.behaviours), len(CHANNELS)), dtype=bool)
    for b, behaviour in enumerate(scenario.behaviours):
        for name in behaviour.channels:
            table[b, CHANNELS.index(name)] = getattr(scenario.channels, name).enabled
    return table


def observe(
    scenario: Scenario,
    pop: Population,
    events: Events,
    days: int,
    seed: int,
    shard: int,
    purpose: str = "channel",
) -> Records:
    """Every record that reaches the national system, in no particular order (what reads the
    records sums them, or sorts them as it needs).

    Every draw is keyed by the identity of the event or record it decides (`keyed` in
    `arrays/streams.py`), so an event meets the same draws whatever other events exist:
    observing two batches of events gives the records of observing them together."""
    xp = namespace(events.day)
    table = seen_by(scenario)
    parts = []
    for c, name in enumerate(CHANNELS):
        if not table[:, c].any():
            continue
        subset = events.of_behaviours(table[:, c])
        draws = keyed(seed, shard, f"{purpose}:{name}")
        settings = getattr(scenario.channels, name)
        by_group = scenario.targeting.detection_multiplier_by_group.get(name, {})
        boost = group_multiplier(by_group, scenario, pop.group, subset.person)
        if name == "camera":
            parts.append(_in_blocks(subset, boost, partial(cameras.observe, scenario, pop), draws))
        elif name == "plate":
            parts.append(_in_blocks(subset, boost, partial(plates.observe, scenario, pop), draws))
        elif name == "platform":
            parts.append(platforms.observe(scenario, pop, subset, draws, days, boost))
        elif name == "informant":
            parts.append(informants.observe(scenario, pop, subset, draws, days, boost))
        else:
            office = partial(_office, name, settings, days=days)
            parts.append(_in_blocks(subset, boost, office, draws))
    records = Records.concat(parts) if parts else Records.empty(xp)
    return pooling.pool(scenario, pop, records, keyed(seed, shard, f"{purpose}:pooling"))
