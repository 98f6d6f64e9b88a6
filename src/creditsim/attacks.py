"""Attacks on the system and its faults: an insider who changes scores, coordinated false
reports against one group, a database left open, a hack that swaps top and bottom scores.

Every attack draws from its own stream, and its records carry their cause, so the audit counts
exactly the records and the sanctions each one made."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.streams import stream
from creditsim.channels.records import CAMPAIGN, INSIDER, NO_ACTOR, Records
from creditsim.population import CHILD, Population
from creditsim.scenario.schema import CHANNELS, Scenario


def insider_kind(scenario: Scenario) -> int:
    """The record kind of an insider's change (after the behaviours and "informed")."""
    return len(scenario.behaviours) + 1


def inject(
    scenario: Scenario, pop: Population, records: Records, days: int, seed: int, shard: int
) -> Records:
    """The record stream with the attacks' fabricated records added."""
    attacks = scenario.attacks
    parts = [records]
    insider = attacks.insider
    if insider.enabled and insider.day < days:
        rng = stream(seed, shard, "attack:insider")
        victims = _members(pop, insider.target_group, scenario, rng, insider.share)
        day = np.full(victims.size, insider.day, dtype=np.int32)
        kind = np.full(victims.size, insider_kind(scenario))
        parts.append(Records.build(day, victims, NO_ACTOR, kind, CHANNELS.index("court"), INSIDER))
    campaign = attacks.false_reports
    if campaign.enabled and campaign.start_day < days:
        rng = stream(seed, shard, "attack:false-reports")
        targets = _eligible(pop, campaign.target_group, scenario)
        years = (days - campaign.start_day) / 365.0
        count = int(rng.poisson(campaign.reports_per_target_per_year * targets.size * years))
        if count and targets.size:
            subject = targets[rng.integers(0, targets.size, size=count)]
            names = [b.name for b in scenario.behaviours]
            kinds = np.array([names.index(n) for n in campaign.behaviours])
            kind = kinds[rng.integers(0, kinds.size, size=count)]
            day = rng.integers(campaign.start_day, days, size=count, dtype=np.int32)
            parts.append(
                Records.build(day, subject, NO_ACTOR, kind, CHANNELS.index("informant"), CAMPAIGN)
            )
    if len(parts) == 1:
        return records
    return Records.concat(parts)


def leaked(scenario: Scenario, records: Records, seed: int, shard: int) -> tuple[int, int]:
    """Records and citizens exposed by the open database: a share of the records made up to
    the leak's day."""
    leak = scenario.attacks.leak
    if not leak.enabled:
        return 0, 0
    rng = stream(seed, shard, "attack:leak")
    exposed = (records.day <= leak.day) & (rng.random(records.size) < leak.share_of_records)
    return int(exposed.sum()), int(np.unique(records.subject[exposed]).size)


def _eligible(pop: Population, group: str | None, scenario: Scenario) -> np.ndarray:
    """Adults, of the target group where there is one."""
    mask = pop.age_band != CHILD
    if group is not None:
        mask &= pop.group == [g.name for g in scenario.groups].index(group)
    return np.flatnonzero(mask).astype(np.int32)


def _members(pop, group, scenario, rng, share: float) -> np.ndarray:
    eligible = _eligible(pop, group, scenario)
    return eligible[rng.random(eligible.size) < share]
