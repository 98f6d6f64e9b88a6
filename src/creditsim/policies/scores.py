"""Score policies (points, Sesame-like, FICO-like): a start per citizen, a delta per record kind,
bounds, grade bands, optional restoration of deductions, and an optional pull towards the scores
of one's contacts.

The ledger steps day by day but touches only the citizens with a record that day (and, where
contacts count, their contacts), so a year costs in proportion to records. Records of one citizen
on one day are applied together, then clipped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from creditsim.engine.arrays import day_order
from creditsim.engine.streams import stream
from creditsim.policies.contacts import Network, contact_network
from creditsim.population import Population
from creditsim.scenario.schema import (
    AGE_BANDS,
    CHANNELS,
    INCOME_BANDS,
    PointsPolicy,
    Scenario,
    ScorePolicy,
    Trigger,
)

QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class GradeChanges:
    """Every change of grade, in day order: the input of grade-triggered sanctions."""

    day: np.ndarray  # int32
    person: np.ndarray  # int32
    before: np.ndarray  # int8, grade index (0 is the best grade)
    after: np.ndarray  # int8


@dataclass
class Ledger:
    score: np.ndarray  # int32, final score per citizen
    grade: np.ndarray  # int8, final grade index per citizen
    changes: GradeChanges
    # Score histograms at the end of each period: (periods, cells, maximum - minimum + 1).
    histograms: np.ndarray | None
    swapped_down: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    initial_grade: np.ndarray | None = None  # int8, the grade each citizen starts in


@dataclass
class ScoreRule:
    """One score policy made concrete for a shard's citizens."""

    policy: ScorePolicy
    delta_by_kind: np.ndarray  # int32 per record kind
    channel_read: np.ndarray  # bool per channel: records that reach the policy
    behaviour_read: np.ndarray  # bool per behaviour: true events it would see with perfect records
    start: np.ndarray  # int32 per citizen: the start plus the fixed parts, within bounds
    network: Network | None  # contacts, where the policy reads them

    @staticmethod
    def uniform(policy: ScorePolicy, delta_by_kind: np.ndarray, citizens: int) -> ScoreRule:
        """Everyone at the policy's start, every channel read, no contacts."""
        kinds = delta_by_kind.shape[0]
        return ScoreRule(
            policy,
            delta_by_kind,
            np.ones(len(CHANNELS), dtype=bool),
            np.ones(kinds, dtype=bool),
            np.full(citizens, policy.start, dtype=np.int32),
            None,
        )

    def records(self, day, subject, kind, channel):
        """The records this policy reads, as (day, subject, kind)."""
        return _where(self.channel_read[channel], day, subject, kind)

    def events(self, day, person, behaviour):
        return _where(self.behaviour_read[behaviour], day, person, behaviour)


def _where(read: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The items of the columns where `read` holds (the columns themselves where it always
    does)."""
    if read.all():
        return columns
    index = np.flatnonzero(read)
    return tuple(column[index] for column in columns)


def deltas(scenario: Scenario, policy: ScorePolicy) -> np.ndarray:
    """Points per record kind: the behaviours, then "informed on someone", then an insider's
    change. A points policy falls back to the behaviours' own points."""
    own = policy.points
    if isinstance(policy, PointsPolicy):
        base = [b.points for b in scenario.behaviours]
        base += [scenario.channels.informant.informer_points, scenario.attacks.insider.points]
    else:
        base = [0] * (len(scenario.behaviours) + 2)
    names = [b.name for b in scenario.behaviours] + ["informed", "insider"]
    return np.array([own.get(n, v) for n, v in zip(names, base, strict=True)], dtype=np.int32)


def score_rules(scenario: Scenario, pop: Population, seed: int, shard: int) -> list[ScoreRule]:
    return [score_rule(scenario, policy, pop, seed, shard) for policy in scenario.score_policies]


def score_rule(
    scenario: Scenario, policy: ScorePolicy, pop: Population, seed: int, shard: int
) -> ScoreRule:
    channels = CHANNELS if policy.reads_channels is None else policy.reads_channels
    channel_read = np.array([c in channels for c in CHANNELS])
    behaviour_read = np.array(
        [any(c in channels for c in b.channels) for b in scenario.behaviours] + [False, False]
    )
    income = np.array([policy.income_points.get(b, 0) for b in INCOME_BANDS], dtype=np.int32)
    age = np.array([policy.age_points.get(b, 0) for b in AGE_BANDS], dtype=np.int32)
    start = policy.start + income[pop.income_band] + age[pop.age_band]
    start = np.clip(start, policy.minimum, policy.maximum).astype(np.int32)
    network = None
    if policy.contacts.weight > 0:
        rng = stream(seed, shard, f"policy:{policy.name}:contacts")
        network = contact_network(pop, policy.contacts, rng)
    return ScoreRule(policy, deltas(scenario, policy), channel_read, behaviour_read, start, network)


def grade_of(policy: ScorePolicy, score: np.ndarray) -> np.ndarray:
    return _Grader(policy)(score)


class _Grader:
    """Score -> grade index (0 is the best grade), from one lookup table over the policy's
    range (every score lies within its bounds)."""

    def __init__(self, policy: ScorePolicy) -> None:
        floors = np.array([band.min_score for band in policy.grades][::-1])
        scores = np.arange(policy.minimum, policy.maximum + 1)
        rank = np.searchsorted(floors, scores, side="right") - 1
        self.table = (len(floors) - 1 - np.maximum(rank, 0)).astype(np.int8)
        self.minimum = policy.minimum

    def __call__(self, score: np.ndarray) -> np.ndarray:
        return self.table[score - self.minimum]


class _Standing:
    """Each citizen's own score and, where contacts count, the score shown: the own score
    pulled towards the mean own score of the contacts."""

    def __init__(self, rule: ScoreRule) -> None:
        policy = rule.policy
        self.low, self.high = policy.minimum, policy.maximum
        self.own = rule.start.copy()
        self.network = rule.network
        if self.network is None:
            self.score = self.own
            return
        self.weight = policy.contacts.weight
        self.degree = self.network.degree
        self.contact_sum = self.network.sum_over(self.own).astype(np.int64)
        self.score = self._shown(np.arange(self.own.shape[0]))

    def _shown(self, people: np.ndarray) -> np.ndarray:
        own, degree = self.own[people], self.degree[people]
        mean = self.contact_sum[people] / np.maximum(degree, 1)
        mixed = np.rint((1.0 - self.weight) * own + self.weight * mean)
        return np.clip(np.where(degree > 0, mixed, own), self.low, self.high).astype(np.int32)

    def move(self, people: np.ndarray, new_own: np.ndarray):
        """Set the own scores of `people` (unique); return whose shown score may have changed,
        from what, to what (the caller drops those that did not)."""
        old_own = self.own[people]
        self.own[people] = new_own
        if self.network is None:
            return people, old_own, new_own
        moved = new_own != old_own
        people, change = people[moved], (new_own - old_own)[moved]
        contacts, which = self.network.of(people)
        # Sorting beats hashing for unique ids here, and one bincount over the touched
        # citizens beats an unbuffered add per contact.
        touched = np.sort(np.concatenate([people, contacts]))
        touched = touched[np.diff(touched, prepend=-1) != 0]
        slot = np.searchsorted(touched, contacts)
        pull = np.bincount(slot, weights=change[which], minlength=touched.shape[0])
        self.contact_sum[touched] += np.rint(pull).astype(np.int64)
        old = self.score[touched]
        new = self._shown(touched)
        self.score[touched] = new
        changed = new != old
        return touched[changed], old[changed], new[changed]


def run_ledger(
    rule: ScoreRule,
    day: np.ndarray,
    subject: np.ndarray,
    kind: np.ndarray,
    days: int,
    cells: np.ndarray | None = None,
    cell_count: int = 0,
    period_days: int = 7,
    swap: tuple[int, float] | None = None,
) -> Ledger:
    """Replay a day-sorted record stream; histograms are kept only when `cells` is given.

    `swap` (day, share): at the end of that day a hack swaps the scores of the highest and the
    lowest `share` of citizens; `Ledger.swapped_down` are those who were at the top.

    The day loop only moves scores; grades and histograms follow from the moves afterwards."""
    policy = rule.policy
    delta = rule.delta_by_kind[kind]
    keep = np.flatnonzero(delta != 0)
    day, subject, delta = day[keep], subject[keep], delta[keep]
    if policy.restore_after_days is not None:
        day, subject, delta = _with_restorations(
            policy.restore_after_days, day, subject, delta, days
        )

    standing = _Standing(rule)
    start = standing.score.copy()
    bounds = np.searchsorted(day, np.arange(days + 1), side="left").tolist()
    moves: list[tuple[np.ndarray, ...]] = []  # (people, old, new) of each step, in order
    move_days: list[int] = []
    swapped_down = np.zeros(0, dtype=np.int64)
    low, high = policy.minimum, policy.maximum
    for today in range(days):
        lo, hi = bounds[today], bounds[today + 1]
        if hi > lo:
            people, slot = np.unique(subject[lo:hi], return_inverse=True)
            net = np.bincount(slot, weights=delta[lo:hi], minlength=people.shape[0])
            own = standing.own[people] + net.astype(np.int32)
            moves.append(standing.move(people, np.minimum(np.maximum(own, low), high)))
            move_days.append(today)
        if swap is not None and today == swap[0]:
            swapped_down, moved = _swap(standing, swap[1])
            moves.append(moved)
            move_days.append(today)
    person, old, new = (
        np.concatenate([step[i] for step in moves]) if moves else np.zeros(0, dtype=np.int32)
        for i in range(3)
    )
    moved_on = np.repeat(np.array(move_days, dtype=np.int32), [m[0].shape[0] for m in moves])
    moved = np.flatnonzero(old != new)
    person, old, new, moved_on = person[moved], old[moved], new[moved], moved_on[moved]

    grade = _Grader(policy)
    # Fixed parts (income, age) and contacts may start a citizen outside the nominal start
    # grade: a change on day 0, so that spells and triggers see it.
    initial = grade(start)
    started = np.flatnonzero(initial != policy.start_grade()).astype(np.int32)
    before, after = grade(old), grade(new)
    regraded = np.flatnonzero(before != after)
    changes = GradeChanges(
        np.concatenate([np.zeros(started.shape[0], np.int32), moved_on[regraded]]),
        np.concatenate([started, person[regraded].astype(np.int32)]),
        np.concatenate(
            [np.full(started.shape[0], policy.start_grade(), np.int8), before[regraded]]
        ),
        np.concatenate([initial[started], after[regraded]]),
    )
    histograms = None
    if cells is not None:
        histograms = _snapshots(
            policy, start, cells, cell_count, days, period_days, moved_on, person, old, new
        )
    return Ledger(
        score=standing.score,
        grade=grade(standing.score),
        changes=changes,
        histograms=histograms,
        swapped_down=swapped_down,
        initial_grade=initial,
    )


def _snapshots(policy, start, cells, cell_count, days, period_days, day, person, old, new):
    """Score histograms (periods, cells, score range) at the end of each period of
    `period_days` (the last may be shorter), from the start and the day-sorted moves."""
    histogram = start_histogram(policy, start, cells, cell_count)
    flat = histogram.reshape(-1)
    periods = (days + period_days - 1) // period_days
    ends = np.searchsorted(day, np.arange(1, periods + 1) * period_days, side="left")
    row = cells[person].astype(np.int64) * histogram.shape[1] - policy.minimum
    snapshots = np.empty((periods, *histogram.shape), dtype=np.int32)
    lo = 0
    for period, hi in enumerate(ends.tolist()):
        flat += np.bincount(row[lo:hi] + new[lo:hi], minlength=flat.shape[0])
        flat -= np.bincount(row[lo:hi] + old[lo:hi], minlength=flat.shape[0])
        snapshots[period] = histogram
        lo = hi
    return snapshots


def _swap(standing: _Standing, share: float) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Swap the own scores of the top and the bottom `share` of citizens; return the former
    top, and the move."""
    score = standing.score
    count = min(int(round(share * score.shape[0])), score.shape[0] // 2)
    if count == 0:
        empty = np.zeros(0, dtype=np.int32)
        return np.zeros(0, dtype=np.int64), (empty, empty, empty)
    order = np.argsort(score, kind="stable")
    bottom, top = order[:count], order[-count:]
    people = np.concatenate([bottom, top])
    new_own = np.concatenate([standing.own[top], standing.own[bottom]])
    return top.astype(np.int64), standing.move(people, new_own)


def grade_changes_for_sanctions(
    rule: ScoreRule,
    triggers: list[Trigger],
    day: np.ndarray,
    subject: np.ndarray,
    kind: np.ndarray,
    days: int,
) -> GradeChanges:
    """The grade changes that the grade `triggers` (of this policy) need, replaying only the
    citizens whose records could take them to a triggering grade."""
    policy = rule.policy
    lows = [t.grade_at_or_below for t in triggers if t.grade_at_or_below is not None]
    highs = [t.grade_at_or_above for t in triggers if t.grade_at_or_above is not None]
    # A grade at or below g means a score under the floor of the grade above g; a grade at or
    # above g, a score at or over g's floor.
    floors = [policy.grades[policy.grade_of(g) - 1].min_score for g in lows]
    ceilings = [policy.grades[policy.grade_of(g)].min_score for g in highs]
    if not floors and not ceilings:
        return stack_changes([])
    if rule.network is not None:  # a contact's records move one's score too: replay everyone
        order = day_order(day)
        return run_ledger(rule, day[order], subject[order], kind[order], days).changes
    delta = rule.delta_by_kind[kind]
    citizens = rule.start.shape[0]
    # A score stays between the start plus all deductions and the start plus all gains,
    # whatever their order, the bounds or the restorations.
    reaches = np.zeros(citizens, dtype=bool)
    if floors:
        down = np.flatnonzero(delta < 0)
        lowest = np.bincount(subject[down], weights=delta[down], minlength=citizens)
        reaches |= rule.start + lowest < max(floors)
    if ceilings:
        up = np.flatnonzero(delta > 0)
        highest = np.bincount(subject[up], weights=delta[up], minlength=citizens)
        reaches |= rule.start + highest >= min(ceilings)
    # Only they are replayed, numbered in order among themselves: their grade changes are
    # those of a replay of everyone.
    replayed = np.flatnonzero(reaches)
    number = np.cumsum(reaches, dtype=np.int32) - 1
    keep = np.flatnonzero(reaches[subject])
    order = keep[day_order(day[keep])]
    local = number[subject[order]]
    few = dataclasses.replace(rule, start=rule.start[replayed])
    changes = run_ledger(few, day[order], local, kind[order], days).changes
    changes.person = replayed[changes.person].astype(np.int32)
    return changes


def _with_restorations(after_days, day, subject, delta, days):
    lost = np.flatnonzero((delta < 0) & (day + after_days < days))
    day = np.concatenate([day, day[lost] + after_days])
    subject = np.concatenate([subject, subject[lost]])
    delta = np.concatenate([delta, -delta[lost]])
    order = np.argsort(day, kind="stable")
    return day[order], subject[order], delta[order]


def start_histogram(
    policy: ScorePolicy, score: np.ndarray, cells: np.ndarray, cell_count: int
) -> np.ndarray:
    """A (cells, score range) histogram of `score`."""
    bins = policy.maximum - policy.minimum + 1
    index = cells.astype(np.int64) * bins + (score - policy.minimum)
    counts = np.bincount(index, minlength=cell_count * bins)
    return counts.reshape(cell_count, bins).astype(np.int32)


def score_summary(histograms: np.ndarray, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and QUANTILES of the score from histograms (..., score range), exactly.

    Histograms add across shards, so merged quantiles are exact. An empty cell gets NaN."""
    totals = histograms.sum(axis=-1)
    values = np.arange(histograms.shape[-1]) + minimum
    mean = (histograms @ values) / np.maximum(totals, 1)
    cumulative = np.cumsum(histograms, axis=-1)
    quantiles = np.stack(
        [
            np.argmax(cumulative >= np.ceil(q * totals)[..., None], axis=-1) + minimum
            for q in QUANTILES
        ],
        axis=-1,
    ).astype(np.float64)
    empty = totals == 0
    mean[empty] = np.nan
    quantiles[empty] = np.nan
    return mean, quantiles


def stack_changes(changes) -> GradeChanges:
    if not changes:
        i32 = np.zeros(0, dtype=np.int32)
        i8 = np.zeros(0, dtype=np.int8)
        return GradeChanges(i32, i32.copy(), i8, i8.copy())
    return GradeChanges(*(np.concatenate(column) for column in zip(*changes, strict=True)))
