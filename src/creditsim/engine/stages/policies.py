"""Policies read the records: each score policy's ledger of scores and grades, each list's
entries, in the audit's three worlds (recorded, own correct records, true events)."""

from __future__ import annotations

import numpy as np

from creditsim.behaviours import Events
from creditsim.channels.records import CORRECT, Records, Selected
from creditsim.engine.stage import stage, with_system
from creditsim.engine.state import ShardState, Worlds
from creditsim.policies.lists import PhasedList
from creditsim.policies.scores import (
    GradeChanges,
    Ledger,
    ScoreRule,
    grade_changes_for_sanctions,
    run_ledger,
    score_rules,
    stack_changes,
)
from creditsim.scenario.schema import Scenario, ScorePolicy, Trigger


@stage(
    "rules",
    reads=("scenario", "phases", "pop", "seed", "shard"),
    writes=("score_rules", "list_rules"),
    purposes=("policy:{policy}:contacts", "list:{list}:payment"),
)
def rules(state: ShardState) -> None:
    """Each policy made concrete for the shard's citizens: a score policy's starting scores and
    contacts, a list's time each citizen takes to pay."""
    scenario, pop, seed, shard = state.scenario, state.pop, state.seed, state.shard
    state.score_rules = score_rules(scenario, pop, seed, shard, state.phases)
    state.list_rules = [
        PhasedList(state.phases, policy.name, pop.income_band, seed, shard)
        for policy in scenario.list_policies
    ]


@stage(
    "policies",
    reads=(
        "scenario",
        "phases",
        "pop",
        "records",
        "events",
        "score_rules",
        "list_rules",
        "cells",
        "days",
    ),
    writes=("evidence", "ledgers", "grade_changes", "listed"),
    enabled=with_system,
)
def policies(state: ShardState) -> None:
    """Records -> scores, grades and list entries: each score policy's ledger over the records;
    its grade changes and each list's entries in the three worlds."""
    records = state.records
    correct = records.cause == CORRECT
    own = Selected(records, correct)
    evidence: Worlds[Records | Selected | Events] = Worlds(records, own, state.events)
    state.evidence = evidence
    state.ledgers = _ledgers(state)
    changes: Worlds[dict[str, GradeChanges]] = Worlds({}, {}, {})
    swapped = _swap(state.scenario, state.days) is not None
    wronged = _wronged(records, correct, state.pop.size)
    for i, rule in enumerate(state.score_rules):
        name = rule.policy.name
        triggers = [t for s in state.phases.scenarios for t in _grade_triggers(s, rule)]
        changes.recorded[name] = state.ledgers[name].changes
        changes.own[name] = _own_changes(
            rule, triggers, own, state.ledgers[name], state.days,
            None if rule.network is not None or (swapped and i == 0) else wronged,
        )  # fmt: skip
        changes.deserved[name] = grade_changes_for_sanctions(
            rule, triggers, *rule.events(state.events), state.days
        )
    state.grade_changes = changes
    state.listed = Worlds(
        *(
            {r.policy.name: r.entries(*trail(world)) for r in state.list_rules}
            for world in evidence.each()
        )
    )


def _wronged(records: Records, correct: np.ndarray, citizens: int) -> np.ndarray:
    """Whether each citizen is the subject of a record that is not their own correct one
    (`correct`: whether each record is)."""
    wronged = np.zeros(citizens, dtype=bool)
    wronged[records.subject[np.flatnonzero(~correct)]] = True
    return wronged


def _own_changes(
    rule: ScoreRule,
    triggers: list[Trigger],
    own: Selected,
    ledger: Ledger,
    days: int,
    wronged: np.ndarray | None,
) -> GradeChanges:
    """The grade changes the own correct records make, for the `triggers`.

    Given `wronged` (where no hack or contact moves the recorded ledger beyond the records), a
    citizen with no wrongful record has the same records in both worlds, so the same changes:
    only the wronged are replayed. Each citizen's changes stay in day order, which is all that
    grade spells read; a citizen who cannot reach a trigger has changes that cross none."""
    if wronged is None:
        read = rule.records(own.day, own.subject, own.kind, own.channel)
        return grade_changes_for_sanctions(rule, triggers, *read, days)
    mine = own.about(wronged)
    read = rule.records(mine.day, mine.subject, mine.kind, mine.channel)
    replayed = grade_changes_for_sanctions(rule, triggers, *read, days, among=wronged)
    kept = np.flatnonzero(~wronged[ledger.changes.person])
    return stack_changes([ledger.changes.take(kept), replayed])


def trail(world: Records | Selected | Events) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(day, person, kind) of records (their subject) or of true events (their actor)."""
    if isinstance(world, Events):
        return world.day, world.person, world.behaviour
    return world.day, world.subject, world.kind


def _ledgers(state: ShardState) -> dict:
    """Each score policy's run over the records; a score swap hits the first policy."""
    records, days = state.records, state.days
    swap = _swap(state.scenario, days)
    return {
        rule.policy.name: run_ledger(
            rule, *rule.records(records.day, records.subject, records.kind, records.channel),
            days, state.cells, state.cell_count, state.period, swap if i == 0 else None,
        )
        for i, rule in enumerate(state.score_rules)
    }  # fmt: skip


def _swap(scenario: Scenario, days: int) -> tuple[int, float] | None:
    swap = scenario.attacks.score_swap
    return (swap.day, swap.share) if swap.enabled and swap.day < days else None


def _grade_triggers(scenario: Scenario, rule: ScoreRule) -> list[Trigger]:
    """The grade triggers on this policy: its sanctions', and its low grade for the audit."""
    name = rule.policy.name
    triggers = [
        s.trigger
        for s in scenario.sanctions
        if scenario.score_policy(s.trigger.policy).name == name
    ]
    return [*triggers, at_or_below(rule.policy, rule.policy.low_grade_index())]


def at_or_below(policy: ScorePolicy, grade: int) -> Trigger:
    """A trigger on a grade (an index) of a policy, for replays the audit or giving up need;
    built without validation, as the grade may be the one a policy starts in."""
    return Trigger.model_construct(
        policy=policy.name, grade_at_or_below=policy.grades[grade].grade, grade_at_or_above=None
    )
