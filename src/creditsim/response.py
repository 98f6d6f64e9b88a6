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

from creditsim.arrays.backend import namespace
from creditsim.arrays.streams import keyed
from creditsim.behaviours import Events
from creditsim.channels import seen_by
from creditsim.channels.cameras import coverage_table, fpir_by_group
from creditsim.channels.informants import informing_boost
from creditsim.population import Population
from creditsim.scenario.schema import CHANNELS, Scenario


def detection_table(scenario: Scenario, days: int) -> np.ndarray:
    """The true chance that some channel records a behaviour and the record is pooled, as a
    (behaviour, region, group, day) table: targeted groups are watched more closely."""
    seen = seen_by(scenario)
    ch = scenario.channels
    groups = [g.name for g in scenario.groups]
    cover = coverage_table(scenario, days)[None, :, None, :]
    fixed = {
        "transport": ch.transport.detect_rate,
        "court": ch.court.detect_rate,
        "tax": ch.tax.detect_rate,
        "platform": ch.platform.recall,
        "informant": ch.informant.report_rate * informing_boost(scenario),
        "registry": ch.registry.detect_rate,
    }
    targeting = scenario.targeting
    shape = (len(scenario.behaviours), len(scenario.regions), len(groups), days)
    missed = np.ones(shape)
    for c, name in enumerate(CHANNELS):
        if name == "camera":
            # A right match: the true-identification rate where no wrong match took the search.
            right = ch.camera.true_identification_rate * (1.0 - fpir_by_group(scenario))
            chance = cover * right[None, None, :, None]
        elif name == "plate":
            chance = cover * ch.plate.read_rate
        else:
            chance = np.full((1, 1, 1, 1), fixed[name])
        table = targeting.detection_multiplier_by_group.get(name, {})
        boost = np.array([table.get(g, 1.0) for g in groups])[None, None, :, None]
        chance = np.minimum(chance * boost, 1.0)
        missed *= np.where(seen[:, c][:, None, None, None], 1.0 - chance, 1.0)
    pooling = np.array([r.pooling_share for r in scenario.regions])[:, None]
    by_group = targeting.pooling_multiplier_by_group
    pooling = pooling * np.array([by_group.get(g, 1.0) for g in groups])[None, :]
    return (1.0 - missed) * np.minimum(pooling, 1.0)[None, :, :, None]


def detection_chance(scenario: Scenario, pop: Population, events: Events) -> np.ndarray:
    """The true chance, per event, that some channel records it and the record is pooled."""
    days = int(events.day.max()) + 1 if events.size else 1
    table = detection_table(scenario, days)
    actor = events.person
    return table[events.behaviour, pop.region[actor], pop.group[actor], events.day]


def respond(scenario: Scenario, pop: Population, events: Events, seed: int, shard: int) -> Events:
    """The events that still happen once citizens respond to the system."""
    return respond_split(scenario, pop, events, seed, shard)[0]


def respond_split(
    scenario: Scenario, pop: Population, events: Events, seed: int, shard: int
) -> tuple[Events, Events]:
    """The events that still happen, and those deterred: kept only where citizens may give
    up and need them back (otherwise an empty set, not a pass over every event)."""
    keep = respond_mask(scenario, pop, events, seed, shard)
    xp = namespace(events.day)
    if keep is None:
        return events, events.take(xp.zeros(0, dtype=np.int64))
    kept = events.take(xp.flatnonzero(keep))
    if not scenario.response.giving_up.enabled:
        return kept, events.take(xp.zeros(0, dtype=np.int64))
    return kept, events.take(xp.flatnonzero(~keep))


def respond_mask(
    scenario: Scenario, pop: Population, events: Events, seed: int, shard: int
) -> np.ndarray | None:
    """Which events still happen once citizens are deterred; None where all do."""
    deterrence = scenario.response.deterrence
    if not scenario.responding() or not deterrence.enabled or events.size == 0:
        return None
    xp = namespace(events.day)
    days = int(events.day.max()) + 1
    perceived = detection_table(scenario, days) * scenario.perceived_share()
    # Each behaviour's table flattened over (region, group, day), indexed by one number.
    perceived = xp.asarray(perceived.reshape(perceived.shape[0], -1))
    cell = pop.region_group(len(scenario.groups))
    bounds = events.bounds(len(scenario.behaviours))
    keep = xp.ones(events.size, dtype=bool)
    for b, behaviour in enumerate(scenario.behaviours):
        elasticity = deterrence.elasticity_by_category.get(behaviour.category, 0.0)
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        if not behaviour.offence or elasticity == 0.0 or hi == lo:
            continue
        # One uniform per event, keyed by its identity: the same event meets the same draw
        # whatever the elasticities, the other behaviours or the other events are.
        draw = keyed(seed, shard, f"response:{behaviour.name}").uniforms(events.serial[lo:hi])
        at = cell[events.person[lo:hi]] * days + events.day[lo:hi]
        keep[lo:hi] = draw < 1.0 - elasticity * perceived[b][at]
    return keep


def given_up(deterred: Events, spells) -> np.ndarray:
    """Which deterred events came from citizens who had given up: those on a day inside one of
    the citizen's spells at the bottom grade (spells: person, start, end; disjoint)."""
    if deterred.size == 0 or spells.size == 0:
        return np.zeros(deterred.size, dtype=bool)
    span = np.int64(max(int(spells.end.max()), int(deterred.day.max())) + 1)
    order = np.argsort(spells.person.astype(np.int64) * span + spells.start, kind="stable")
    keys = spells.person.astype(np.int64)[order] * span + spells.start[order]
    ends = spells.end[order]
    owner = spells.person[order]
    at = np.searchsorted(keys, deterred.person.astype(np.int64) * span + deterred.day, "right") - 1
    inside = at >= 0
    inside[inside] = (owner[at[inside]] == deterred.person[inside]) & (
        deterred.day[inside] < ends[at[inside]]
    )
    return inside


def gaming_rates(scenario: Scenario) -> dict[int, float]:
    """Point-earning acts done for the points: the extra rate per year of each merit with
    positive points (none where gaming is off). They are drawn on their own streams, so the
    events that would happen anyway stay those of the counterfactual."""
    gaming = scenario.response.gaming
    if not scenario.responding() or not gaming.enabled or gaming.uplift == 0.0:
        return {}
    uplift = gaming.uplift * scenario.perceived_share()
    return {
        i: b.rate_per_year * uplift
        for i, b in enumerate(scenario.behaviours)
        if not b.offence and b.points > 0
    }
