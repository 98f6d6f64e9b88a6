"""The points policy: a starting balance, a delta per record kind, bounds, grade bands, and
(optionally) deductions restored after a quiet time.

The ledger steps day by day but touches only the citizens with a record that day, so a year costs
in proportion to records. Records of one citizen on one day are applied together, then clipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from creditsim.engine.arrays import day_order
from creditsim.scenario.schema import PointsPolicy, Scenario

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


def deltas(scenario: Scenario) -> np.ndarray:
    """Points per record kind: the behaviours, then "informed on someone", then an insider's
    change."""
    return np.array(
        [b.points for b in scenario.behaviours]
        + [scenario.channels.informant.informer_points, scenario.attacks.insider.points],
        dtype=np.int32,
    )


def grade_of(policy: PointsPolicy, score: np.ndarray) -> np.ndarray:
    return _Grader(policy)(score)


class _Grader:
    """Score -> grade index (0 is the best grade), with the band floors prepared once."""

    def __init__(self, policy: PointsPolicy) -> None:
        self.floors = np.array([band.min_score for band in policy.grades][::-1])
        self.top = len(self.floors) - 1

    def __call__(self, score: np.ndarray) -> np.ndarray:
        rank = np.searchsorted(self.floors, score, side="right") - 1
        return (self.top - np.maximum(rank, 0)).astype(np.int8)


def run_ledger(
    policy: PointsPolicy,
    delta_by_kind: np.ndarray,
    day: np.ndarray,
    subject: np.ndarray,
    kind: np.ndarray,
    citizens: int,
    days: int,
    cells: np.ndarray | None = None,
    cell_count: int = 0,
    period_days: int = 7,
    swap: tuple[int, float] | None = None,
) -> Ledger:
    """Replay a day-sorted record stream; histograms are kept only when `cells` is given.

    `swap` (day, share): at the end of that day a hack swaps the scores of the highest and the
    lowest `share` of citizens; `Ledger.swapped_down` are those who were at the top."""
    delta = delta_by_kind[kind]
    keep = np.flatnonzero(delta != 0)
    day, subject, delta = day[keep], subject[keep], delta[keep]
    if policy.restore_after_days is not None:
        day, subject, delta = _with_restorations(
            policy.restore_after_days, day, subject, delta, days
        )

    score = np.full(citizens, policy.start, dtype=np.int32)
    bounds = np.searchsorted(day, np.arange(days + 1), side="left")
    changes: list[tuple[np.ndarray, ...]] = []

    grade = _Grader(policy)
    histogram = None
    snapshots: list[np.ndarray] = []
    if cells is not None:
        histogram = start_histogram(policy, cells, cell_count)
        bins = histogram.shape[1]
        flat = histogram.reshape(-1)

    def settle(today: int, people: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        """Record the grade changes of citizens whose score moved, and move the histogram."""
        before, after = grade(old), grade(new)
        regraded = np.flatnonzero(before != after)
        if regraded.size:
            changes.append(
                (
                    np.full(regraded.size, today, dtype=np.int32),
                    people[regraded],
                    before[regraded],
                    after[regraded],
                )
            )
        if histogram is not None:
            row = cells[people] * bins - policy.minimum
            flat[:] -= np.bincount(row + old, minlength=flat.shape[0]).astype(np.int32)
            flat[:] += np.bincount(row + new, minlength=flat.shape[0]).astype(np.int32)

    swapped_down = np.zeros(0, dtype=np.int64)
    for today in range(days):
        lo, hi = bounds[today], bounds[today + 1]
        if hi > lo:
            people, slot = np.unique(subject[lo:hi], return_inverse=True)
            net = np.bincount(slot, weights=delta[lo:hi], minlength=people.shape[0])
            old = score[people]
            new = np.clip(old + net.astype(np.int32), policy.minimum, policy.maximum)
            score[people] = new
            moved = new != old
            if moved.any():
                settle(today, people[moved], old[moved], new[moved])
        if swap is not None and today == swap[0]:
            swapped_down = _swap(score, swap[1], today, settle)
        if histogram is not None and ((today + 1) % period_days == 0 or today == days - 1):
            snapshots.append(histogram.copy())

    return Ledger(
        score=score,
        grade=grade(score),
        changes=_stack_changes(changes),
        histograms=np.stack(snapshots) if histogram is not None else None,
        swapped_down=swapped_down,
    )


def _swap(score: np.ndarray, share: float, today: int, settle) -> np.ndarray:
    """Swap the scores of the top and the bottom `share` of citizens; return the former top."""
    count = min(int(round(share * score.shape[0])), score.shape[0] // 2)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(score, kind="stable")
    bottom, top = order[:count], order[-count:]
    people = np.concatenate([bottom, top])
    old = score[people]
    new = np.concatenate([score[top], score[bottom]])
    score[people] = new
    moved = new != old
    settle(today, people[moved], old[moved], new[moved])
    return top.astype(np.int64)


def grade_changes_for_sanctions(
    scenario: Scenario,
    delta_by_kind: np.ndarray,
    day: np.ndarray,
    subject: np.ndarray,
    kind: np.ndarray,
    citizens: int,
    days: int,
) -> GradeChanges:
    """The grade changes that grade-triggered sanctions and rewards need, replaying only the
    citizens whose records could take them to a triggering grade."""
    policy = scenario.policy
    lows = [s.trigger.grade_at_or_below for s in scenario.sanctions]
    highs = [s.trigger.grade_at_or_above for s in scenario.sanctions]
    # A grade at or below g means a score under the floor of the grade above g; a grade at or
    # above g, a score at or over g's floor.
    floors = [policy.grades[policy.grade_of(g) - 1].min_score for g in lows if g is not None]
    ceilings = [policy.grades[policy.grade_of(g)].min_score for g in highs if g is not None]
    if not floors and not ceilings:
        return _stack_changes([])
    delta = delta_by_kind[kind]
    # A score stays between the start plus all deductions and the start plus all gains,
    # whatever their order, the bounds or the restorations.
    reaches = np.zeros(citizens, dtype=bool)
    if floors:
        down = np.flatnonzero(delta < 0)
        lowest = np.bincount(subject[down], weights=delta[down], minlength=citizens)
        reaches |= policy.start + lowest < max(floors)
    if ceilings:
        up = np.flatnonzero(delta > 0)
        highest = np.bincount(subject[up], weights=delta[up], minlength=citizens)
        reaches |= policy.start + highest >= min(ceilings)
    keep = np.flatnonzero(reaches[subject])
    order = keep[day_order(day[keep])]
    ledger = run_ledger(
        policy, delta_by_kind, day[order], subject[order], kind[order], citizens, days
    )
    return ledger.changes


def _with_restorations(after_days, day, subject, delta, days):
    lost = np.flatnonzero((delta < 0) & (day + after_days < days))
    day = np.concatenate([day, day[lost] + after_days])
    subject = np.concatenate([subject, subject[lost]])
    delta = np.concatenate([delta, -delta[lost]])
    order = np.argsort(day, kind="stable")
    return day[order], subject[order], delta[order]


def start_histogram(policy: PointsPolicy, cells: np.ndarray, cell_count: int) -> np.ndarray:
    """Everyone at the starting score: a (cells, score range) histogram."""
    histogram = np.zeros((cell_count, policy.maximum - policy.minimum + 1), dtype=np.int32)
    histogram[:, policy.start - policy.minimum] = np.bincount(cells, minlength=cell_count)
    return histogram


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


def _stack_changes(changes) -> GradeChanges:
    if not changes:
        i32 = np.zeros(0, dtype=np.int32)
        i8 = np.zeros(0, dtype=np.int8)
        return GradeChanges(i32, i32.copy(), i8, i8.copy())
    return GradeChanges(*(np.concatenate(column) for column in zip(*changes, strict=True)))
