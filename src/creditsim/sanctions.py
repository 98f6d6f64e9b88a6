"""Sanctions: triggers, terms and reach, as sets of (person, start, end) intervals.

A grade trigger holds a sanction while the citizen's grade under a named score policy is at or
below it (at or above, for a reward), and at least for the sanction's term from the day it began.
A list trigger holds it while the citizen is on the list. A record trigger (a court judgment, a
serious transport offence) starts a term on the record's day; a new one during a term extends it.
Overlapping terms of one person merge into one interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creditsim.arrays.streams import keyed, pair
from creditsim.intervals import Intervals, distinct, people, union
from creditsim.policies.scores import GradeChanges
from creditsim.population import Population
from creditsim.scenario.schema import INCOME_BANDS, Sanction, Scenario


def impose(
    scenario: Scenario,
    changes: dict[str, GradeChanges],
    lists: dict[str, Intervals],
    record_day: np.ndarray,
    record_subject: np.ndarray,
    record_kind: np.ndarray,
    days: int,
) -> dict[str, Intervals]:
    """Intervals of every sanction, from each score policy's grade changes, the lists and a
    record stream.

    A grade trigger holds while the grade is there, and at least the sanction's term; a list
    trigger holds while the citizen is listed; a record trigger holds the term from the record."""
    names = [b.name for b in scenario.behaviours]
    # The records of the behaviours any record trigger names, found in one pass.
    named = {n for s in scenario.sanctions for n in s.trigger.record_behaviours}
    triggering = np.flatnonzero(np.isin(record_kind, [names.index(n) for n in named]))
    triggering_kind = record_kind[triggering]
    result = {}
    # Sanctions with the same trigger and term have the same intervals: computed once.
    done: dict[tuple, Intervals] = {}
    for sanction in scenario.sanctions:
        trigger = sanction.trigger
        policy = scenario.score_policy(trigger.policy)
        key = (
            policy.name,
            trigger.grade_at_or_below,
            trigger.grade_at_or_above,
            tuple(sorted(trigger.on_lists)),
            tuple(sorted(trigger.record_behaviours)),
            sanction.duration_days,
        )
        if key in done:
            result[sanction.name] = done[key]
            continue
        parts = []
        low, high = trigger.grade_at_or_below, trigger.grade_at_or_above
        if low is not None:
            floor = policy.grade_of(low)
            parts.append(
                grade_spells(
                    changes[policy.name], lambda g, f=floor: g >= f, days, sanction.duration_days
                )
            )
        if high is not None:
            ceiling = policy.grade_of(high)
            parts.append(
                grade_spells(
                    changes[policy.name], lambda g, c=ceiling: g <= c, days, sanction.duration_days
                )
            )
        parts += [lists[name] for name in trigger.on_lists]
        if trigger.record_behaviours:
            kinds = np.array([names.index(n) for n in trigger.record_behaviours])
            hit = triggering[np.isin(triggering_kind, kinds)]
            start = record_day[hit].astype(np.int32)
            parts.append(Intervals(record_subject[hit], start, start + sanction.duration_days))
        result[sanction.name] = done[key] = union(parts)
    return result


@dataclass
class AppealOutcome:
    intervals: Intervals  # the sanction's intervals once successful appeals have ended them
    filed: np.ndarray  # bool per interval
    upheld: np.ndarray  # bool per interval: the appeal succeeded (before any insincerity ruling)
    insincere: np.ndarray  # bool per interval: succeeded, but the apology was ruled insincere
    lifted: np.ndarray  # bool per interval: the sanction ended early


def appeal(
    scenario: Scenario,
    label: str,
    appealable: bool,
    intervals: Intervals,
    wrongful: np.ndarray,  # sorted ids of the citizens sanctioned wrongfully
    income_band: np.ndarray,
    grade: np.ndarray,
    days: int,
    seed: int,
    shard: int,
) -> AppealOutcome:
    """Appeals against each interval of a sanction or a list (named by `label`), filed the day
    it starts and decided `delay_days` later; `grade` is the primary policy's. `wrongful` tells
    the court whether the sanction was deserved: an appeal against a wrongful sanction succeeds
    more often than one against a deserved one."""
    settings = scenario.appeals
    none = np.zeros(intervals.size, dtype=bool)
    if not settings.enabled or not appealable or intervals.size == 0:
        return AppealOutcome(intervals, none, none.copy(), none.copy(), none.copy())
    # Each spell's draws are keyed by its citizen and first day: a spell that two scenarios
    # share meets the same draws, whatever other spells there are.
    keys = keyed(seed, shard, f"sanction:{label}:appeals")
    person = intervals.person
    spell = pair(person, intervals.start)
    draws = [keys.uniforms(spell, d) for d in range(3)]
    share = np.array([settings.share_by_income.get(b, 0.0) for b in INCOME_BANDS])
    grade_names = [band.grade for band in scenario.policy.grades]
    low = scenario.policy.low_grade_index()
    multiplier = np.where(np.arange(len(grade_names)) >= low, settings.low_grade_multiplier, 1.0)
    filed = draws[0] < np.minimum(share[income_band[person]] * multiplier[grade[person]], 1.0)
    success = np.where(
        np.isin(person, wrongful), settings.success_rate_wrongful, settings.success_rate_rightful
    )
    upheld = filed & (draws[1] < success)
    insincere = upheld & (draws[2] < settings.insincere_apology_share)
    decided = intervals.start + settings.delay_days
    lifted = upheld & ~insincere & (decided < intervals.end) & (decided < days)
    end = np.where(lifted, decided, intervals.end).astype(np.int32)
    return AppealOutcome(Intervals(person, intervals.start, end), filed, upheld, insincere, lifted)


def denied_purchases(
    sanction: Sanction, intervals: Intervals, pop: Population, days: int, seed: int, shard: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ticket purchases tried while banned, as (person, day) per denied purchase.

    Citizens try to buy at a rate set by their income band; every try while banned is denied,
    which is how the published figures count them."""
    empty = np.zeros(0, dtype=np.int32)
    if sanction.purchases is None or intervals.size == 0:
        return empty, empty.copy()
    rate = np.array([sanction.purchases.attempts_per_year.get(b, 0.0) for b in INCOME_BANDS])
    # Each citizen's tries over the whole run, keyed by the citizen (a Poisson count, then a
    # uniform day each): those inside a ban's intervals are denied. A citizen banned in two
    # scenarios meets the same tries; the intervals of one citizen are disjoint.
    keys = keyed(seed, shard, f"sanction:{sanction.name}:purchases")
    person = intervals.person
    count = keys.poisson(person, rate[pop.income_band[person]] * days / 365.0, 0)
    which = np.repeat(np.arange(intervals.size), count)
    rank = np.arange(which.size) - (np.cumsum(count) - count)[which]
    day = keys.below(pair(person[which], rank), days, 1).astype(np.int32)
    inside = (day >= intervals.start[which]) & (day < np.minimum(intervals.end[which], days))
    return person[which][inside], day[inside]


def grade_spells(changes: GradeChanges, inside, days: int, at_least: int) -> Intervals:
    """Spells during which the grade (an index, 0 the best) satisfies `inside`: each lasts
    until the grade leaves, and at least `at_least` days. The starting grade is outside."""
    was, now = inside(changes.before), inside(changes.after)
    enters, leaves = ~was & now, was & ~now
    crossing = np.flatnonzero(enters | leaves)
    order = crossing[np.argsort(changes.person[crossing], kind="stable")]
    person, day, entering = changes.person[order], changes.day[order], enters[order]
    # Crossings of one person alternate enter, leave, enter ...; each enter's leave follows it.
    at = np.flatnonzero(entering)
    following = at + 1
    has_leave = following < person.shape[0]
    has_leave[has_leave] = person[following[has_leave]] == person[at[has_leave]]
    leave_day = np.full(at.shape[0], days, dtype=np.int32)
    leave_day[has_leave] = day[following[has_leave]]
    start = day[at].astype(np.int32)
    end = np.maximum(leave_day, start + at_least)
    return Intervals(person[at], start, end)


def ever_inside(changes: GradeChanges, inside) -> np.ndarray:
    """Sorted ids (int64) of the citizens whose grade ever came to satisfy `inside`: the people
    of `grade_spells`, as each of its spells starts where a grade enters, found without the
    spells (no sort of the changes by citizen)."""
    enters = ~inside(changes.before) & inside(changes.after)
    return distinct(changes.person[enters])


def wrongful_citizens(recorded: Intervals, own_true: Intervals) -> np.ndarray:
    """Sorted ids of the citizens under a sanction that their own correctly attributed records
    would not have triggered."""
    return np.setdiff1d(people(recorded), people(own_true), assume_unique=True)
