"""Sanctions follow from the grades, the lists and the records, in the three worlds; appeals end
some early; bans deny purchases. Exempt citizens' sanctions are waived where the scenario says."""

from __future__ import annotations

import numpy as np

from creditsim.behaviours import Events
from creditsim.channels.records import Records, Selected
from creditsim.engine.phased import clip, in_force_each_day, parts
from creditsim.engine.stage import stage, with_system
from creditsim.engine.stages.policies import trail
from creditsim.engine.state import Appealed, ShardState, Worlds
from creditsim.exemptions import waive
from creditsim.intervals import Intervals, no_intervals
from creditsim.policies.scores import grade_of
from creditsim.sanctions import AppealOutcome, appeal, denied_purchases, impose, wrongful_citizens
from creditsim.scenario.schema import Sanction, Scenario
from creditsim.scenario.timeline import Phases


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
        "scenario", "phases", "pop", "list_rules", "listed", "exempt", "ledgers", "score_rules",
        "days", "seed", "shard",
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
        outcome = appeal_phased(
            s.phases, f"list:{name}", lambda scenario, n=name: _removed_by_appeal(scenario, n),
            entries, wrongful, s.pop.income_band, grade, s.days, s.seed, s.shard,
        )  # fmt: skip
        recorded[name] = outcome.intervals
        s.list_appeals[name] = Appealed(outcome, wrongful)
    s.listed = Worlds(recorded, s.listed.own, s.listed.deserved)


@stage(
    "sanctions",
    reads=("scenario", "phases", "pop", "grade_changes", "listed", "evidence", "exempt", "days"),
    writes=("sanctioned",),
    enabled=with_system,
)
def sanctions(state: ShardState) -> None:
    """Grades, lists and records -> sanctions: each sanction's intervals in the three worlds."""
    s = state
    found = [
        in_force_each_day(
            s.phases,
            lambda scenario, c=changes, w=listed, e=evidence: imposed_where_in_force(
                scenario, s.pop.region, c, w, *_trail_read(scenario, e), s.days
            ),
        )
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
        "scenario", "phases", "pop", "sanctioned", "ledgers", "score_rules", "days", "seed",
        "shard",
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
        outcome = appeal_phased(
            s.phases, name, lambda scenario, n=name: _sanction(scenario, n).appealable,
            recorded[name], wrongful, s.pop.income_band, grade, s.days, s.seed, s.shard,
        )  # fmt: skip
        s.sanction_appeals[name] = Appealed(outcome, wrongful)


@stage(
    "purchases",
    reads=("scenario", "phases", "pop", "sanction_appeals", "days", "seed", "shard"),
    writes=("denied",),
    purposes=("sanction:{sanction}:purchases",),
)
def purchases(state: ShardState) -> None:
    """Ticket purchases tried while banned, each denied: (person, day) per denied purchase."""
    s = state
    s.denied = {sanction.name: _denied(s, sanction.name) for sanction in s.scenario.sanctions}


def _denied(state: ShardState, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Purchases denied under a ban, each tried at the rate in force on its day."""
    s = state
    intervals = s.sanction_appeals[name].outcome.intervals
    found = [
        denied_purchases(
            _sanction(scenario, name), clip(intervals, first, end), s.pop, s.days, s.seed, s.shard
        )
        for (first, end), scenario in zip(s.phases.windows(), s.phases.scenarios, strict=True)
    ]
    return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


def _sanction(scenario: Scenario, name: str) -> Sanction:
    return next(s for s in scenario.sanctions if s.name == name)


def _removed_by_appeal(scenario: Scenario, name: str) -> bool:
    return "appeal" in next(p for p in scenario.list_policies if p.name == name).removal


def _trail_read(
    scenario: Scenario, world: Records | Selected | Events
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The world's (day, subject, kind) where a sanction of `scenario` is triggered by records;
    else none, so that the own world's records are not taken for nothing."""
    read = any(s.trigger.record_behaviours for s in scenario.sanctions)
    return trail(world if read else Records.empty())


def imposed_where_in_force(
    scenario: Scenario, region: np.ndarray, changes, lists, day, subject, kind, days: int
) -> dict[str, Intervals]:
    """Every sanction's intervals under `scenario`: none for a sanction not in force, and only
    citizens of its regions for one scoped to regions (a city's pilot)."""
    found = impose(scenario, changes, lists, day, subject, kind, days)
    names = [r.name for r in scenario.regions]
    for sanction in scenario.sanctions:
        if not sanction.in_force:
            found[sanction.name] = no_intervals()
        elif sanction.regions is not None:
            spans = found[sanction.name]
            ours = [names.index(r) for r in sanction.regions]
            found[sanction.name] = spans.take(np.isin(region[spans.person], ours))
    return found


def appeal_phased(
    phases: Phases,
    label: str,
    appealable,
    intervals: Intervals,
    wrongful,
    income_band,
    grade,
    days: int,
    seed: int,
    shard: int,
) -> AppealOutcome:
    """Appeals, each heard under the rules in force on the day its spell began (each spell's
    draws are keyed by it, so hearing them phase by phase changes nothing else)."""
    end = intervals.end.copy()
    flags = [np.zeros(intervals.size, dtype=bool) for _ in range(4)]
    for _, scenario, index in parts(phases, intervals.start):
        outcome = appeal(
            scenario,
            label,
            appealable(scenario),
            intervals.take(index),
            wrongful,
            income_band,
            grade,
            days,
            seed,
            shard,
        )
        end[index] = outcome.intervals.end
        decided = (outcome.filed, outcome.upheld, outcome.insincere, outcome.lifted)
        for flag, found in zip(flags, decided, strict=True):
            flag[index] = found
    return AppealOutcome(Intervals(intervals.person, intervals.start, end), *flags)
