"""Attacks on the system and its faults: an insider who changes scores, coordinated false
reports against one group, a database left open, a hack that swaps top and bottom scores.

Every attack draws from its own purpose, keyed by the citizen or record it decides, and its
records carry their cause, so the audit counts exactly the records and the sanctions each one
made."""

from __future__ import annotations

import numpy as np

from creditsim.arrays.streams import derive, keyed, pair
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
        draws = keyed(seed, shard, "attack:insider")
        eligible = _eligible(pop, insider.target_group, scenario)
        victims = eligible[draws.uniforms(eligible.astype(np.uint64)) < insider.share]
        day = np.full(victims.size, insider.day, dtype=np.int32)
        kind = np.full(victims.size, insider_kind(scenario))
        court, ids = CHANNELS.index("court"), derive(victims, INSIDER)
        parts.append(Records.build(day, victims, NO_ACTOR, kind, court, INSIDER, ids))
    campaign = attacks.false_reports
    if campaign.enabled and campaign.start_day < days:
        # Per target, keyed by the target: a Poisson number of reports (draw 0), each of a
        # uniform behaviour (1) on a uniform day (2).
        draws = keyed(seed, shard, "attack:false-reports")
        targets = _eligible(pop, campaign.target_group, scenario)
        years = (days - campaign.start_day) / 365.0
        mean = campaign.reports_per_target_per_year * years
        count = draws.poisson(targets.astype(np.uint64), mean, 0)
        if count.sum():
            which = np.repeat(np.arange(targets.size), count)
            rank = np.arange(which.size) - (np.cumsum(count) - count)[which]
            subject = targets[which]
            ids = pair(subject, rank)
            names = [b.name for b in scenario.behaviours]
            kinds = np.array([names.index(n) for n in campaign.behaviours])
            kind = kinds[draws.below(ids, kinds.size, 1)]
            span = days - campaign.start_day
            day = (campaign.start_day + draws.below(ids, span, 2)).astype(np.int32)
            informant, ids = CHANNELS.index("informant"), derive(ids, CAMPAIGN)
            parts.append(Records.build(day, subject, NO_ACTOR, kind, informant, CAMPAIGN, ids))
    if len(parts) == 1:
        return records
    return Records.concat(parts)


def leaked(scenario: Scenario, records: Records, seed: int, shard: int) -> tuple[int, int]:
    """Records and citizens exposed by the open database: a share of the records made up to
    the leak's day."""
    leak = scenario.attacks.leak
    if not leak.enabled:
        return 0, 0
    share = keyed(seed, shard, "attack:leak").uniforms(records.id) < leak.share_of_records
    exposed = (records.day <= leak.day) & share
    return int(exposed.sum()), int(np.unique(records.subject[exposed]).size)


def _eligible(pop: Population, group: str | None, scenario: Scenario) -> np.ndarray:
    """Adults, of the target group where there is one."""
    mask = pop.age_band != CHILD
    if group is not None:
        mask &= pop.group == [g.name for g in scenario.groups].index(group)
    return np.flatnonzero(mask).astype(np.int32)
