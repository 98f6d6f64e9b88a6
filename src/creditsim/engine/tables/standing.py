"""Where the citizens stand on each score policy at the end: scores, grades and histograms; who
the policy punished (ever at or below its low grade), rightly or not, and on which records; how
they moved between grades."""

from __future__ import annotations

import numpy as np

from creditsim.engine.stage import stage
from creditsim.engine.state import ShardState
from creditsim.engine.tables.counts import categories
from creditsim.engine.tables.tables import Tables, mask
from creditsim.policies.scores import (
    GradeChanges,
    Ledger,
    ScoreRule,
    grade_of,
    stack_changes,
    start_histogram,
)
from creditsim.sanctions import ever_inside

RECOVERY_BIN_DAYS = 30


@stage(
    "standing",
    reads=(
        "scenario", "pop", "tables", "score_rules", "ledgers", "grade_changes", "records", "exempt",
        "cells", "keep_rows",
    ),
    writes=("tables",),
    tallies=(
        "policy:{policy}:sanctioned", "policy:{policy}:wrongful", "policy:{policy}:deserved",
        "policy:{policy}:true_positive", "policy:{policy}:wrongful_by_cause",
        "policy:{policy}:exempt", "policy:{policy}:records_by_category",
        "policy:{policy}:grade_transitions", "policy:{policy}:bottom_entered",
        "policy:{policy}:bottom_recovered", "policy:{policy}:recovery_days",
        "policy:{policy}:recovery_days_total",
    ),
)  # fmt: skip
def standing(state: ShardState) -> None:
    """Each score policy's final scores and grades, its punished in the three worlds, and the
    citizens' moves between grades."""
    tables = state.tables
    ledgers = {rule.policy.name: _ledger(state, rule) for rule in state.score_rules}
    for name, ledger in ledgers.items():
        tables.col[f"score_{name}"] = ledger.score
        tables.col[f"grade_{name}"] = ledger.grade
        tables.histograms[name] = ledger.histograms
    for rule in state.score_rules:
        _punished(state, tables, rule)
        ledger = ledgers[rule.policy.name]
        _mobility(tables, rule, ledger.initial_grade, ledger.grade, ledger.changes)


def _ledger(state: ShardState, rule: ScoreRule) -> Ledger:
    """The policy's ledger; with no system, everyone keeps their starting score."""
    ledger = state.ledgers.get(rule.policy.name)
    if ledger is not None:
        return ledger
    score, periods = rule.start, state.tables.periods
    still = start_histogram(rule.policy, score, state.cells, state.cell_count)
    histograms = np.broadcast_to(still, (periods, *still.shape))
    grade = grade_of(rule.policy, score)
    return Ledger(score, grade, stack_changes([]), histograms, initial_grade=grade)


def _punished(state: ShardState, tables: Tables, rule: ScoreRule) -> None:
    """Who the policy punishes (ever at or below its low grade), whether they deserved it, and
    why: the kinds of the deductions it recorded against them. Nobody, with no system."""
    name = rule.policy.name
    names, category_of = categories(state.scenario)
    by_category = np.zeros(len(names) + 1, dtype=np.int64)
    punished = wrongful = deserved = np.zeros(0, dtype=np.int64)
    if name in state.ledgers:
        low, changes = rule.policy.low_grade_index(), state.grade_changes

        def ever_low(changes: GradeChanges) -> np.ndarray:
            return ever_inside(changes, lambda g: g >= low)

        punished = ever_low(changes.recorded[name])
        wrongful = np.setdiff1d(punished, ever_low(changes.own[name]), assume_unique=True)
        deserved = ever_low(changes.deserved[name])
        records = state.records
        about = np.flatnonzero(mask(punished, state.pop.size)[records.subject])
        kind = records.kind[about]
        about = about[rule.channel_read[records.channel[about]] & (rule.delta_by_kind[kind] < 0)]
        by_category = np.bincount(category_of[records.kind[about]], minlength=len(names) + 1)
    tables.punished[name] = punished
    if state.keep_rows:
        n = state.pop.size
        tables.col[f"punished_{name}"] = mask(punished, n)
        tables.col[f"deserved_punished_{name}"] = mask(deserved, n)
        false_positive = np.setdiff1d(punished, deserved, assume_unique=True)
        tables.col[f"false_positive_punished_{name}"] = mask(false_positive, n)
    tables.tally_outcome(f"policy:{name}", punished, wrongful, deserved)
    tables.tallies[f"policy:{name}:records_by_category"] = by_category


def _mobility(tables: Tables, rule, initial_grade, final_grade, changes: GradeChanges) -> None:
    """Grade transitions from the start to the end of the run, and spells at the bottom
    grade: who fell to it, who climbed back, and after how long."""
    grades, days = len(rule.policy.grades), tables.days
    key = f"policy:{rule.policy.name}"
    t = tables.tallies
    t[f"{key}:grade_transitions"] = np.bincount(
        initial_grade.astype(np.int64) * grades + final_grade, minlength=grades * grades
    )
    bins = days // RECOVERY_BIN_DAYS + 1
    entered, recovered, duration = _first_spells(changes, grades - 1)
    t[f"{key}:bottom_entered"] = tables.by_stratum(entered)
    t[f"{key}:bottom_recovered"] = tables.by_stratum(recovered)
    t[f"{key}:recovery_days"] = np.bincount(duration // RECOVERY_BIN_DAYS, minlength=bins)
    t[f"{key}:recovery_days_total"] = np.array([int(duration.sum())])


def _first_spells(changes, bottom: int):
    """Each citizen's first fall to the bottom grade: who fell, who left it again before the
    run ended, and how many days that took."""
    enters = (changes.before < bottom) & (changes.after >= bottom)
    leaves = (changes.before >= bottom) & (changes.after < bottom)
    crossing = np.flatnonzero(enters | leaves)
    order = crossing[np.argsort(changes.person[crossing], kind="stable")]
    person, day, entering = changes.person[order], changes.day[order], enters[order]
    first = np.ones(person.shape[0], dtype=bool)
    first[1:] = person[1:] != person[:-1]
    # A citizen's crossings alternate fall, climb, ...: the first is a fall.
    fell = np.flatnonzero(first & entering)
    after = fell + 1
    climbed = after < person.shape[0]
    climbed[climbed] = person[after[climbed]] == person[fell[climbed]]
    duration = day[after[climbed]] - day[fell[climbed]]
    return person[fell], person[fell[climbed]], duration.astype(np.int64)
