"""Behavioural response: people who believe they are watched offend less.

Deterrence thins the true events (each candidate event is kept with the chance
1 - elasticity × perceived detection), so a run with the response switched off keeps every event
and shares them exactly with the counterfactual `no-system` run (common random numbers).
Perceived detection is the chance that at least one of the behaviour's channels records it and
that the record reaches the national system; where the rules are secret, only a share of it is
perceived. Chilling of speech is the same mechanism on the speech category.
"""

from __future__ import annotations

import numpy as np

from creditsim.behaviours import Events
from creditsim.channels import seen_by
from creditsim.channels.cameras import coverage
from creditsim.engine.streams import stream
from creditsim.population import Population
from creditsim.scenario.schema import CHANNELS, Scenario


def detection_chance(scenario: Scenario, pop: Population, events: Events) -> np.ndarray:
    """The true chance, per event, that some channel records it and the record is pooled."""
    table = seen_by(scenario)[events.behaviour]
    ch = scenario.channels
    cover = coverage(scenario, pop.region[events.person], events.day)
    fixed = {
        "camera": None,
        "plate": None,
        "transport": ch.transport.detect_rate,
        "court": ch.court.detect_rate,
        "tax": ch.tax.detect_rate,
        "platform": ch.platform.recall,
        "informant": ch.informant.report_rate,
        "registry": ch.registry.detect_rate,
    }
    missed = np.ones(events.size)
    for c, name in enumerate(CHANNELS):
        if name == "camera":
            chance = cover * ch.camera.true_identification_rate
        elif name == "plate":
            chance = cover * ch.plate.read_rate
        else:
            chance = np.full(events.size, fixed[name])
        missed *= np.where(table[:, c], 1.0 - chance, 1.0)
    pooled = np.array([r.pooling_share for r in scenario.regions])[pop.region[events.person]]
    return (1.0 - missed) * pooled


def respond(scenario: Scenario, pop: Population, events: Events, seed: int, shard: int) -> Events:
    """The events that still happen once citizens respond to the system."""
    deterrence = scenario.response.deterrence
    if not scenario.system_enabled or not deterrence.enabled or events.size == 0:
        return events
    elasticity = np.array(
        [
            deterrence.elasticity_by_category.get(b.category, 0.0) if b.offence else 0.0
            for b in scenario.behaviours
        ]
    )
    per_event = elasticity[events.behaviour]
    candidates = np.flatnonzero(per_event > 0)
    perceived = detection_chance(scenario, pop, events.take(candidates))
    if not scenario.policy.published:
        perceived = perceived * deterrence.secret_rules_awareness
    keep_chance = 1.0 - per_event[candidates] * perceived
    # One uniform per event, so the same events are drawn whatever the elasticities are.
    draw = stream(seed, shard, "response:deterrence").random(events.size)
    keep = np.ones(events.size, dtype=bool)
    keep[candidates] = draw[candidates] < keep_chance
    return events.take(np.flatnonzero(keep))
