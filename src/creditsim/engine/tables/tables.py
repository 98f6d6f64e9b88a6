"""The outputs being built: columns, time series, histograms and tallies, with the breakdowns
they share (cells, strata, periods) and the ways of counting into them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from creditsim.arrays.backend import BLOCK, blocks
from creditsim.channels.records import CAUSES
from creditsim.engine.state import ShardState
from creditsim.intervals import Intervals
from creditsim.published import PublishedEntry
from creditsim.sanctions import AppealOutcome
from creditsim.scenario.schema import INCOME_BANDS


@dataclass
class Anyone:
    """Who is under any sanction (rightly or not), and who deserved one: masks, filled as each
    sanction is added."""

    penalty_index: dict[str, int]  # the sanctions of kind "sanction" (not rewards), in order
    under: np.ndarray  # bool (citizens, penalties): who was under which
    sanctioned: np.ndarray  # bool per citizen
    wrongful: np.ndarray
    deserved: np.ndarray
    children_affected: np.ndarray  # int32 per citizen: children reached through them
    reached_households: np.ndarray  # bool per household: reached by a sanction's reach
    household: np.ndarray  # bool per household: someone in it under a sanction

    @staticmethod
    def start(state: ShardState) -> Anyone:
        pop, n = state.pop, state.pop.size
        penalties = [s.name for s in state.scenario.sanctions if s.kind == "sanction"]
        return Anyone(
            {name: i for i, name in enumerate(penalties)},
            np.zeros((n, len(penalties)), dtype=bool),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=np.int32),
            np.zeros(pop.households, dtype=bool),
            np.zeros(pop.households, dtype=bool),
        )


@dataclass
class Tables:
    """The outputs, and the breakdowns they share. (It holds no reference to the shard's state:
    the state holds it, and a cycle would keep every array alive after the run, as workers run
    with the garbage collector paused.)"""

    days: int
    period: int  # days in a period of the time series
    cell_count: int
    exempt: np.ndarray  # bool per citizen
    cells: np.ndarray  # (region, group) cell of each citizen
    # The audit's strata: (region, group, income band), so that every breakdown and every
    # intersection of the three is an exact sum of tallies.
    strata: np.ndarray
    strata_count: int
    periods: int
    wronged: np.ndarray  # bool (citizens, causes): who got a wrongful record of which cause
    anyone: Anyone  # who is under any sanction, filled as each sanction is added
    col: dict[str, np.ndarray] = field(default_factory=dict)  # per-citizen columns
    ts: dict[str, np.ndarray] = field(default_factory=dict)  # (periods, cells) counts
    tallies: dict[str, np.ndarray] = field(default_factory=dict)
    histograms: dict[str, np.ndarray] = field(default_factory=dict)  # per score policy
    published: list[PublishedEntry] = field(default_factory=list)
    punished: dict[str, np.ndarray] = field(default_factory=dict)  # per score policy: ids

    @staticmethod
    def start(state: ShardState) -> Tables:
        cells, n = state.cells, state.pop.size
        return Tables(
            state.days,
            state.period,
            state.cell_count,
            state.exempt,
            cells,
            cells.astype(np.int32) * len(INCOME_BANDS) + state.pop.income_band,
            state.cell_count * len(INCOME_BANDS),
            (state.days + state.period - 1) // state.period,
            np.zeros((n, len(CAUSES)), dtype=bool),
            Anyone.start(state),
        )

    def by_period(self, day, cell, mask=None) -> np.ndarray:
        """Counts per (period, cell); `mask` selects which items count."""
        if mask is not None:
            day, cell = day[mask], cell[mask]
        index = (day // self.period).astype(np.int64) * self.cell_count + cell
        size = self.periods * self.cell_count
        counts = np.bincount(index, minlength=size)[:size]
        return counts.reshape(self.periods, self.cell_count)

    def by_period_and_stratum(self, day, person, flag) -> np.ndarray:
        """Counts of items (on `day`, of `person`) within the run, per (flag, period, stratum).
        A block of items at a time: the index of each stays in the CPU's cache. (An index into a
        table of that many counts fits in 32 bits.)"""
        shape = (2, self.periods, self.strata_count)
        size = int(np.prod(shape))
        counts = np.zeros(size, dtype=np.int64)
        for start, end in blocks(day.shape[0], size=max(BLOCK, 4 * size)):
            index = (day[start:end] // self.period).astype(np.int32, copy=False)
            flagged = flag[start:end].astype(np.int32)
            flagged *= np.int32(self.periods)
            index += flagged
            index *= self.strata_count
            index += self.strata[person[start:end]]
            counts += np.bincount(index, minlength=size)
        return counts.reshape(shape)

    def by_cell(self, by_stratum: np.ndarray) -> np.ndarray:
        """(..., strata) counts summed over income bands: (..., cells)."""
        bands = len(INCOME_BANDS)
        return by_stratum.reshape(*by_stratum.shape[:-1], self.cell_count, bands).sum(axis=-1)

    def by_stratum(self, citizens: np.ndarray) -> np.ndarray:
        """How many of `citizens` (ids) fall in each stratum."""
        return np.bincount(self.strata[citizens], minlength=self.strata_count)

    def active(self, intervals: Intervals) -> np.ndarray:
        """People under the sanction at the end of each period."""
        days, period = self.days, self.period
        ends = np.minimum((np.arange(self.periods) + 1) * period, days) - 1
        first = np.searchsorted(ends, intervals.start, side="left")
        last = np.searchsorted(ends, intervals.end - 1, side="right") - 1
        live = first <= last
        cell = self.cells[intervals.person[live]].astype(np.int64)
        width = self.periods + 1
        change = np.bincount(cell * width + first[live], minlength=self.cell_count * width)
        change -= np.bincount(cell * width + last[live] + 1, minlength=self.cell_count * width)
        return np.cumsum(change.reshape(self.cell_count, width), axis=1)[:, :-1].T

    def tally_outcome(self, name, sanctioned, wrongful, deserved) -> None:
        """Tallies of one outcome from sorted citizen ids: sanctioned, wrongful, deserved."""
        # Those who deserved it among the sanctioned, by a mask over the citizens (both are
        # sorted ids): a lookup each, where a set intersection would sort both together.
        caught = sanctioned[mask(deserved, self.strata.shape[0])[sanctioned]]
        t = self.tallies
        t[f"{name}:sanctioned"] = self.by_stratum(sanctioned)
        t[f"{name}:wrongful"] = self.by_stratum(wrongful)
        t[f"{name}:deserved"] = self.by_stratum(deserved)
        t[f"{name}:true_positive"] = self.by_stratum(caught)
        t[f"{name}:wrongful_by_cause"] = self.wronged[wrongful].sum(axis=0)
        exempt = self.exempt
        t[f"{name}:exempt"] = np.array(
            [exempt[sanctioned].sum(), exempt[deserved].sum(), exempt[caught].sum()]
        )


def appeal_counts(appeals: AppealOutcome, wrongful: np.ndarray) -> np.ndarray:
    wrongful_interval = np.isin(appeals.intervals.person, wrongful)
    return np.array(
        [
            appeals.filed.sum(),
            appeals.upheld.sum(),
            appeals.insincere.sum(),
            appeals.lifted.sum(),
            (appeals.lifted & wrongful_interval).sum(),
            (appeals.filed & wrongful_interval).sum(),
        ]
    )


def mask(citizens: np.ndarray, n: int) -> np.ndarray:
    chosen = np.zeros(n, dtype=bool)
    chosen[citizens] = True
    return chosen


def count_where(strata: np.ndarray, chosen: np.ndarray, count: int) -> np.ndarray:
    """How many citizens where `chosen` holds fall in each of `count` strata."""
    return np.bincount(strata[chosen], minlength=count)


def count_all(person: np.ndarray, n: int) -> np.ndarray:
    """Items per citizen."""
    return np.bincount(person, minlength=n).astype(np.int32)
