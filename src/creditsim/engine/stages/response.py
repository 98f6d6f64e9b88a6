"""The citizens' response to the system: deterrence holds some offences back before the channels
see them; giving up, once the records have sunk a citizen, lets them happen after all."""

from __future__ import annotations

import numpy as np

from creditsim.behaviours import Events
from creditsim.channels import Records
from creditsim.engine.phased import keep_phased, observe_phased
from creditsim.engine.stage import stage
from creditsim.engine.stages.policies import at_or_below
from creditsim.engine.state import ShardState
from creditsim.policies.scores import ScoreRule, grade_changes_for_sanctions
from creditsim.population import Population
from creditsim.response import given_up, respond_mask
from creditsim.sanctions import grade_spells
from creditsim.scenario.schema import Scenario
from creditsim.scenario.timeline import Phases

GIVING_UP_MAX_STEPS = 50  # the fixed point comes in a few steps; this only bounds a pathology


def deterring(scenario: Scenario) -> bool:
    return scenario.responding() and scenario.response.deterrence.enabled


def may_give_up(scenario: Scenario) -> bool:
    return scenario.responding() and scenario.response.giving_up.enabled


@stage(
    "deterrence",
    reads=("scenario", "phases", "pop", "events", "seed", "shard", "xp"),
    writes=("events", "keep", "candidates", "deterred_at"),
    purposes=("response:{behaviour}",),
    enabled=deterring,
)
def deterrence(state: ShardState) -> None:
    """The offences that still happen once citizens weigh the detection they perceive; the
    drawn events stay at hand (`candidates`) where the deterred may come back by giving up."""
    drawn, s = state.events, state
    keep = keep_phased(
        s.phases,
        drawn,
        lambda scenario, events: respond_mask(scenario, s.pop, events, s.seed, s.shard),
    )
    if keep is None:
        return
    xp = state.xp
    state.keep = keep
    if may_give_up(state.scenario):
        state.candidates = drawn
        state.deterred_at = xp.flatnonzero(~keep)
    state.events = drawn.take(xp.flatnonzero(keep))


@stage(
    "giving-up",
    reads=(
        "scenario", "phases", "pop", "records", "candidates", "keep", "deterred_at", "exempt",
        "score_rules", "days", "seed", "shard", "xp",
    ),
    writes=("records", "events", "candidates"),
    redraws=("channel:{channel}", "channel:pooling"),
    enabled=may_give_up,
)  # fmt: skip
def giving_up(state: ShardState) -> None:
    """Citizens sunk to the giving-up grade stop caring: the offences deterrence held back
    while they were there happen after all, and are recorded like any other."""
    candidates, deterred_at, xp = state.candidates, state.deterred_at, state.xp
    state.candidates = None
    if not deterred_at.size:
        return
    deterred = candidates.take(deterred_at).to_host()
    back, state.records = give_up(
        state.phases, state.pop, state.records, deterred, state.exempt, state.score_rules,
        state.days, state.seed, state.shard,
    )  # fmt: skip
    if back.any():
        # The deterred events that came back join the others where they were drawn.
        chosen = state.keep.copy()
        chosen[deterred_at[xp.asarray(np.flatnonzero(back))]] = True
        state.events = candidates.take(xp.flatnonzero(chosen)).to_host()


def give_up(
    phases: Phases,
    pop: Population,
    records: Records,
    deterred: Events,
    exempt: np.ndarray,
    rules: list[ScoreRule],
    days: int,
    seed: int,
    shard: int,
) -> tuple[np.ndarray, Records]:
    """Citizens at or below the giving-up grade of the primary policy stop caring: the offences
    deterrence held back while they were there happen after all, and are observed like any
    other. More records sink more citizens, so this repeats until no further offence comes back
    (a fixed point: the set only grows), each step observing only the offences new to it.

    Returns which deterred events came back, and the records with theirs added."""
    scenario = phases.scenarios[0]
    back = np.zeros(deterred.size, dtype=bool)
    if not may_give_up(scenario) or deterred.size == 0:
        return back, records
    settings = scenario.response.giving_up
    rule = rules[0]
    policy = rule.policy
    lowest = len(policy.grades) - 1
    floor = lowest if settings.grade is None else policy.grade_of(settings.grade)
    # Only the citizens whose records could take them to the floor are replayed.
    at_floor = at_or_below(policy, floor)
    parts = [records]
    reads = [rule.records(records.day, records.subject, records.kind, records.channel)]
    changed = None  # who got new records in the last step (None at first)
    for _ in range(GIVING_UP_MAX_STEPS):
        picked = reads
        if changed is not None and rule.network is None:
            # Only they can sink further: the others' spells are those of the step before.
            # (Where contacts count, their contacts can too: everyone is replayed.)
            picked = [tuple(c[np.flatnonzero(changed[r[1]])] for c in r) for r in reads]
        read = picked[0]
        if len(picked) > 1:
            read = tuple(np.concatenate(columns) for columns in zip(*picked, strict=True))
        changes = grade_changes_for_sanctions(rule, [at_floor], *read, days)
        spells = grade_spells(changes, lambda g: g >= floor, days, 0)
        new = given_up(deterred, spells) & ~back
        if not new.any():
            break
        back |= new
        # The channels' own keyed draws: an offence that comes back meets the draws it would
        # have met had it never been held back.
        extra = observe_phased(phases, pop, deterred.take(np.flatnonzero(new)), days, seed, shard)
        if scenario.exemptions.records_dropped and exempt.any():
            extra = extra.take(np.flatnonzero(~exempt[extra.subject]))
        parts.append(extra)
        reads.append(rule.records(extra.day, extra.subject, extra.kind, extra.channel))
        changed = np.zeros(pop.size, dtype=bool)
        changed[extra.subject] = True
    if len(parts) == 1:
        return back, records
    return back, Records.concat(parts)
