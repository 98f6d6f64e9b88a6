"""What reaches the national system: each region pools a share of its records, and a few records
are merged onto another citizen of the same name (modelled as a random citizen of the region)."""

from __future__ import annotations

from creditsim.arrays.backend import namespace
from creditsim.arrays.streams import Keyed
from creditsim.channels.records import CORRECT, MERGE, Records
from creditsim.channels.sampling import adults_sharing
from creditsim.channels.targeting import group_multiplier
from creditsim.population import Population
from creditsim.scenario.schema import Scenario


def pool(scenario: Scenario, pop: Population, records: Records, draws: Keyed) -> Records:
    """The records pooled (draw 0 of each record's identity), and among them those merged
    (draw 1) onto another adult of the region (draw 2)."""
    xp = namespace(records.day)
    merges = scenario.channels.merges
    unmerged = not merges.enabled or merges.rate == 0
    every_record = all(r.pooling_share >= 1.0 for r in scenario.regions)
    if unmerged and every_record and not scenario.targeting.pooling_multiplier_by_group:
        return records  # every draw would be below its chance of 1: nothing to draw
    share = xp.asarray([r.pooling_share for r in scenario.regions])
    # A record is pooled from the region where it was made: the actor's, or for a fabricated
    # record the subject's.
    origin = xp.where(records.actor >= 0, records.actor, records.subject)
    chance = share[pop.region[origin]] * group_multiplier(
        scenario.targeting.pooling_multiplier_by_group, scenario, pop.group, origin
    )
    pooled = draws.uniforms(records.id, 0) < chance
    kept = records.take(xp.flatnonzero(pooled))
    if unmerged or kept.size == 0:
        return kept
    merged = xp.flatnonzero(draws.uniforms(kept.id, 1) < merges.rate)
    if merged.size:
        picker = adults_sharing(pop, "region")
        subject = kept.subject[merged]
        u = draws.uniforms(kept.id[merged], 2)
        new_subject = picker.pick(pop.region[subject], subject, u)
        kept.subject[merged] = new_subject
        correct_before = kept.cause[merged] == CORRECT
        kept.cause[merged[correct_before & (new_subject != subject)]] = MERGE
    return kept
