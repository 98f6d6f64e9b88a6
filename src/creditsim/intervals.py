"""Day intervals per citizen: who is under something (a sanction, a list, a waiver) from which
day to which, as three parallel arrays, and their union. Every stage that holds citizens for a
time (lists, sanctions, exemptions) shares this one representation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Intervals:
    person: np.ndarray  # int32
    start: np.ndarray  # int32, first day under the sanction
    end: np.ndarray  # int32, first day free again (may lie beyond the run)

    @property
    def size(self) -> int:
        return int(self.person.shape[0])

    def take(self, index: np.ndarray) -> Intervals:
        """The intervals at `index` (a mask or indexes)."""
        return Intervals(self.person[index], self.start[index], self.end[index])

    def days_within(self, days: int) -> np.ndarray:
        return np.minimum(self.end, days) - self.start

    def days_per_person(self, citizens: int, days: int) -> np.ndarray:
        return np.bincount(self.person, weights=self.days_within(days), minlength=citizens).astype(
            np.int32
        )


def people(intervals: Intervals) -> np.ndarray:
    """Sorted ids (int64) of the citizens with an interval."""
    return distinct(intervals.person)


def distinct(person: np.ndarray) -> np.ndarray:
    """The citizens' ids (non-negative), each once, sorted, as int64."""
    person = np.sort(person).astype(np.int64)
    return person[np.diff(person, prepend=-1) != 0]


def no_intervals() -> Intervals:
    empty = np.zeros(0, dtype=np.int32)
    return Intervals(empty, empty.copy(), empty.copy())


def union(parts: list[Intervals]) -> Intervals:
    if not parts:
        return no_intervals()
    person = np.concatenate([p.person for p in parts]).astype(np.int32)
    start = np.concatenate([p.start for p in parts]).astype(np.int32)
    end = np.concatenate([p.end for p in parts]).astype(np.int32)
    if person.size == 0:
        return Intervals(person, start, end)
    # By person, then start (the order of equal starts does not matter: none opens a span).
    span = np.int64(int(end.max()) + 1)
    order = np.argsort(person * span + start)
    person, start, end = person[order], start[order], end[order]
    # A running maximum of the end within each person (the person dominates the key).
    reach = np.maximum.accumulate(person.astype(np.int64) * span + end) - person * span
    opens = np.ones(person.shape[0], dtype=bool)
    opens[1:] = (person[1:] != person[:-1]) | (start[1:] > reach[:-1])
    first = np.flatnonzero(opens)
    last = np.append(first[1:], person.shape[0]) - 1
    return Intervals(person[first], start[first], reach[last].astype(np.int32))


__all__ = ["Intervals", "no_intervals", "people", "union"]
