"""Sanctions follow from the grades, the lists and the records, in the three worlds; appeals end
some early; bans deny purchases. Exempt citizens' sanctions are waived where the scenario says."""

from __future__ import annotations

import numpy as np

from creditsim.engine.stage import stage, with_system
from creditsim.engine.stages.policies import trail
from creditsim.engine.state import Appealed, ShardState, Worlds
from creditsim.exemptions import waive
from creditsim.policies.scores import grade_of
from creditsim.sanctions import appeal, denied_purchases, impose, wrongful_citizens


def primary_grade(state: ShardState) -> np.ndarray:
    """Each citizen's final grade on the primary policy (no system: the starting one)."""
    name = state.scenario.policy.name
    ledger = state.ledgers.get(name)
    if ledger is not None:
        return ledger.grade
    rule = next(r for r in state.score_rules if r.policy.name == name)
    return grade_of(rule.policy, rule.start)


def _waiving(state: ShardState) -> bool:
    return state.scenario.exemptions.sanctions_waived and bool(state.exempt.any())


@stage(
    "lists",
    reads=(
        "scenario", "pop", "list_rules", "listed", "exempt", "ledgers", "score_rules", "days",
        "seed", "shard",
    ),
    writes=("listed", "list_appeals"),
    purposes=("sanction:list:{list}:appeals",),
)  # fmt: skip
def lists(state: ShardState) -> None:
    """Who stays listed: entries of exempt citizens waived, appeals against the rest."""
    s, grade = state, primary_grade(state)
    recorded = dict(s.listed.recorded)
    s.list_appeals = {}
    for rule in s.list_rules:
        name = rule.policy.name
        entries = recorded[name]
        if _waiving(s):
            entries = waive(entries, s.exempt)
        wrongful = wrongful_citizens(entries, s.listed.own[name])
        outcome = appeal(
            s.scenario, f"list:{name}", "appeal" in rule.policy.removal, entries, wrongful,
            s.pop.income_band, grade, s.days, s.seed, s.shard,
        )  # fmt: skip
        recorded[name] = outcome.intervals
        s.list_appeals[name] = Appealed(outcome, wrongful)
    s.listed = Worlds(recorded, s.listed.own, s.listed.deserved)


@stage(
    "sanctions",
    reads=("scenario", "grade_changes", "listed", "evidence", "exempt", "days"),
    writes=("sanctioned",),
    enabled=with_system,
)
def sanctions(state: ShardState) -> None:
    """Grades, lists and records -> sanctions: each sanction's intervals in the three worlds."""
    s = state
    found = [
        impose(s.scenario, changes, listed, *trail(evidence), s.days)
        for changes, listed, evidence in zip(
            s.grade_changes.each(), s.listed.each(), s.evidence.each(), strict=True
        )
    ]
    if _waiving(s):
        found[0] = {name: waive(spans, s.exempt) for name, spans in found[0].items()}
    s.sanctioned = Worlds(*found)


@stage(
    "appeals",
    reads=(
        "scenario", "pop", "sanctioned", "ledgers", "score_rules", "days", "seed", "shard",
    ),
    writes=("sanction_appeals",),
    purposes=("sanction:{sanction}:appeals",),
)  # fmt: skip
def appeals(state: ShardState) -> None:
    """Appeals against each sanction, which end some early: more often the wrongful ones."""
    s, grade = state, primary_grade(state)
    recorded, own = s.sanctioned.recorded, s.sanctioned.own
    s.sanction_appeals = {}
    for sanction in s.scenario.sanctions:
        name = sanction.name
        wrongful = wrongful_citizens(recorded[name], own[name])
        outcome = appeal(
            s.scenario, name, sanction.appealable, recorded[name], wrongful, s.pop.income_band,
            grade, s.days, s.seed, s.shard,
        )  # fmt: skip
        s.sanction_appeals[name] = Appealed(outcome, wrongful)


@stage(
    "purchases",
    reads=("scenario", "pop", "sanction_appeals", "days", "seed", "shard"),
    writes=("denied",),
    purposes=("sanction:{sanction}:purchases",),
)
def purchases(state: ShardState) -> None:
    """Ticket purchases tried while banned, each denied: (person, day) per denied purchase."""
    s = state
    s.denied = {
        sanction.name: denied_purchases(
            sanction, s.sanction_appeals[sanction.name].outcome.intervals, s.pop, s.days,
            s.seed, s.shard,
        )
        for sanction in s.scenario.sanctions
    }  # fmt: skip
