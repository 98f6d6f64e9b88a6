"""One shard's run: the whole flow, population to tallies, over arrays.

A shard is a sample of whole households with its own random streams, so shards are independent
and their tallies add up exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from creditsim.attacks import inject, leaked
from creditsim.behaviours import Events, draw_events
from creditsim.channels import Records, observe
from creditsim.channels.records import CAUSES, CORRECT, NO_ACTOR, SCORE_SWAP
from creditsim.engine.backend import array_module, namespace, to_host
from creditsim.engine.streams import stream
from creditsim.exemptions import exempt_citizens, waive
from creditsim.policies.points import (
    Ledger,
    deltas,
    grade_changes_for_sanctions,
    run_ledger,
    start_histogram,
)
from creditsim.population import CHILD, Population, build_population
from creditsim.response import game, given_up, respond_split
from creditsim.sanctions import (
    AppealOutcome,
    Intervals,
    appeal,
    denied_purchases,
    grade_spells,
    impose,
    no_intervals,
    wrongful_citizens,
)
from creditsim.scenario.schema import INCOME_BANDS, Scenario

Progress = Callable[[str], None]
RECOVERY_BIN_DAYS = 30


@dataclass
class ShardResult:
    """What one shard hands back: its citizen rows, and aggregates that add up across shards."""

    citizens: dict[str, np.ndarray]
    timeseries: dict[str, np.ndarray]  # counts, (periods, cells) each
    histograms: np.ndarray  # score histograms, (periods, cells, score range)
    tallies: dict[str, np.ndarray]
    timings: dict[str, float] = field(default_factory=dict)


def horizon_days(years: float) -> int:
    return max(1, int(round(years * 365)))


def run_shard(
    scenario: Scenario,
    citizens: int,
    days: int,
    seed: int,
    shard: int = 0,
    first_citizen: int = 0,
    progress: Progress | None = None,
    backend: str = "numpy",
    keep_rows: bool = True,
) -> ShardResult:
    """Run one shard of `citizens` citizens; their global ids start at `first_citizen`.

    Population, behaviours, response and channels run on the array backend; what follows works
    on far fewer items (records, sanctions, tallies) and runs on the host."""
    clock = _Clock(progress)
    xp = array_module(backend)
    pop = build_population(scenario, citizens, stream(seed, shard, "population", xp), xp)
    clock.lap("population")
    candidates = draw_events(scenario, pop, days, seed, shard)
    kept, deterred = respond_split(scenario, pop, candidates, seed, shard)
    events = game(scenario, pop, kept, days, seed, shard)
    # The events before any response are exactly those of the same citizens without the system
    # (common random numbers), so the system's effect on behaviour is a paired difference.
    without_system = _by_behaviour_and_group(candidates, pop, scenario)
    del candidates
    clock.lap("behaviours")

    if scenario.system_enabled:
        records = observe(scenario, pop, events, days, seed, shard).to_host()
    else:
        records = Records.empty()
    pop, events = pop.to_host(), events.to_host()
    if scenario.system_enabled:
        records = inject(scenario, pop, records, days, seed, shard)
    exempt = exempt_citizens(scenario, pop, seed, shard)
    if scenario.exemptions.records_dropped and exempt.any():
        records = records.take(np.flatnonzero(~exempt[records.subject]))
    events, records = _give_up(scenario, pop, events, records, deterred.to_host(), exempt, days,
                               seed, shard)  # fmt: skip
    clock.lap("channels")

    groups = len(scenario.groups)
    cells = pop.region_group(groups)
    cell_count = len(scenario.regions) * groups
    period = scenario.run.timeseries_every_days

    if scenario.system_enabled:
        per_kind = deltas(scenario)
        ledger = run_ledger(
            scenario.policy, per_kind, records.day, records.subject, records.kind,
            pop.size, days, cells, cell_count, period, _swap(scenario, days),
        )  # fmt: skip
        own = records.take(np.flatnonzero(records.cause == CORRECT))
        own_changes = grade_changes_for_sanctions(
            scenario, per_kind, own.day, own.subject, own.kind, pop.size, days
        )
        perfect_changes = grade_changes_for_sanctions(
            scenario, per_kind, events.day, events.person, events.behaviour, pop.size, days
        )
        clock.lap("policies")
        recorded = impose(
            scenario, ledger.changes, records.day, records.subject, records.kind, days
        )
        if scenario.exemptions.sanctions_waived and exempt.any():
            recorded = {name: waive(spans, exempt) for name, spans in recorded.items()}
        own_true = impose(scenario, own_changes, own.day, own.subject, own.kind, days)
        deserved = impose(
            scenario, perfect_changes, events.day, events.person, events.behaviour, days
        )
        clock.lap("sanctions")
    else:
        ledger = None
        nothing = {s.name: no_intervals() for s in scenario.sanctions}
        recorded = own_true = deserved = nothing
        for stage in ("policies", "sanctions"):
            clock.lap(stage)

    tables = _Tables(
        scenario, pop, events, records, ledger, days, cells, cell_count, period, first_citizen,
        exempt, keep_rows,
    )  # fmt: skip
    tables.tallies["leak"] = np.array(leaked(scenario, records, seed, shard))
    tables.tallies["events_without_system"] = without_system
    tables.tallies["events_with_system"] = _by_behaviour_and_group(events, pop, scenario)
    for sanction in scenario.sanctions:
        name = sanction.name
        wrongful = wrongful_citizens(recorded[name], own_true[name])
        grade = tables.col["grade"]
        appeals = appeal(
            scenario, sanction, recorded[name], wrongful, pop.income_band, grade, days, seed, shard
        )
        person, day = denied_purchases(sanction, appeals.intervals, pop, days, seed, shard)
        tables.add_sanction(name, appeals, wrongful, deserved[name], person, day)
    result = tables.finish()
    clock.lap("outputs")
    result.timings = clock.laps
    return result


class _Tables:
    """Builds the per-citizen columns, the time series and the additive tallies of a shard."""

    def __init__(
        self,
        scenario: Scenario,
        pop: Population,
        events: Events,
        records: Records,
        ledger: Ledger | None,
        days: int,
        cells: np.ndarray,
        cell_count: int,
        period: int,
        first_citizen: int,
        exempt: np.ndarray,
        keep_rows: bool = True,
    ) -> None:
        self.scenario, self.pop, self.days = scenario, pop, days
        self.cells, self.cell_count, self.period = cells, cell_count, period
        # The audit's strata: (region, group, income band), so that every breakdown and every
        # intersection of the three is an exact sum of tallies.
        self.strata = cells.astype(np.int32) * len(INCOME_BANDS) + pop.income_band
        self.strata_count = cell_count * len(INCOME_BANDS)
        self.periods = (days + period - 1) // period
        n = pop.size
        categories = sorted({b.category for b in scenario.behaviours})
        # Record kinds: the behaviours, then "informed" and an insider's change (no category).
        category_of = np.array(
            [categories.index(b.category) for b in scenario.behaviours] + [len(categories)] * 2
        )
        offence = np.array([b.offence for b in scenario.behaviours] + [False])
        self.offence_events = offence[events.behaviour]

        col: dict[str, np.ndarray] = {
            "citizen": np.arange(first_citizen, first_citizen + n, dtype=np.int64),
            # A household is named by its head's citizen id: unique across shards.
            "household": pop.head.astype(np.int64) + first_citizen,
            "region": pop.region,
            "group": pop.group,
            "age_band": pop.age_band,
            "income_band": pop.income_band,
            "urban": pop.urban,
            "children": pop.children,
            "exempt": exempt,
        }
        self.exempt = exempt
        self.keep_rows = keep_rows
        wrongful = records.actor != records.subject
        if keep_rows:  # columns only the citizen rows need
            behaviour_category = category_of[:-1]
            record_category = category_of[records.kind]
            for c, name in enumerate(categories):
                persons = events.of_behaviours(behaviour_category == c).person
                col[f"true_{name}"] = np.bincount(persons, minlength=n).astype(np.int32)
            for c, name in enumerate(categories):
                col[f"recorded_{name}"] = _count(records.subject, record_category == c, n)
            kinds = len(scenario.behaviours)
            col["records"] = _count(records.subject, records.kind < kinds, n)
            col["wrongful_records"] = _count(records.subject, wrongful, n)
            col["reports_made"] = _count(records.subject, records.kind == kinds, n)
        # Who got a wrongful record of each kind (face, plate, ...): sorted citizen ids.
        self.wronged_by = [np.zeros(0, dtype=np.int64)] + [
            np.unique(records.subject[records.cause == cause]) for cause in range(1, len(CAUSES))
        ]
        if ledger is not None and ledger.swapped_down.size:
            self.wronged_by[SCORE_SWAP] = np.union1d(
                self.wronged_by[SCORE_SWAP], ledger.swapped_down
            )
        offenders = events.of_behaviours(offence[:-1]).person
        col["true_offences"] = np.bincount(offenders, minlength=n).astype(np.int32)
        policy = scenario.policy
        if ledger is not None:
            col["score"] = ledger.score
            col["grade"] = ledger.grade
        else:
            col["score"] = np.full(n, policy.start, dtype=np.int32)
            col["grade"] = np.full(n, policy.start_grade(), dtype=np.int8)
        self.col = col
        # Citizens as sorted id arrays: sanctions reach few, so this is cheaper than masks.
        nobody = np.zeros(0, dtype=np.int64)
        self.any_sanctioned, self.any_wrongful, self.any_deserved = nobody, nobody, nobody
        self.children_affected = np.zeros(n, dtype=np.int32)
        self.reached_households = np.zeros(pop.households, dtype=bool)
        self.any_household = np.zeros(pop.households, dtype=bool)

        ts: dict[str, np.ndarray] = {}
        event_cells = cells[events.person]
        record_cells = cells[records.subject]
        ts["events"] = self._by_period(events.day, event_cells)
        ts["offences"] = self._by_period(events.day, event_cells, self.offence_events)
        ts["records"] = self._by_period(records.day, record_cells)
        ts["wrongful_records"] = self._by_period(records.day, record_cells, wrongful)
        if ledger is not None and ledger.histograms is not None:
            self.histograms = ledger.histograms
        else:
            still = start_histogram(policy, cells, cell_count)
            self.histograms = np.broadcast_to(still, (self.periods, *still.shape))
        self.ts = ts

        strata, sc = self.strata, self.strata_count
        event_strata = strata[events.person]
        record_strata = strata[records.subject]
        tallies: dict[str, np.ndarray] = {
            "citizens": np.bincount(strata, minlength=sc),
            "true_events": np.bincount(event_strata, minlength=sc),
            "true_offences": _cell_count(event_strata, self.offence_events, sc),
            "offenders": _cell_count(strata, col["true_offences"] > 0, sc),
            "records": np.bincount(record_strata, minlength=sc),
            "wrongful_records": _cell_count(record_strata, wrongful, sc),
            "exempt_citizens": _cell_count(strata, exempt, sc),
            "records_by_cause": np.bincount(records.cause, minlength=len(CAUSES)),
            "fabricated_records": np.array([int((records.actor == NO_ACTOR).sum())]),
            "events_by_behaviour": np.bincount(
                events.behaviour, minlength=len(scenario.behaviours)
            ),
            "records_by_behaviour": np.bincount(
                records.kind, minlength=len(scenario.behaviours) + 2
            ),
        }
        self.tallies = tallies
        self._tally_mobility(ledger, col["grade"])

    def _tally_mobility(self, ledger: Ledger | None, final_grade: np.ndarray) -> None:
        """Grade transitions from the start to the end of the run, and spells at the bottom
        grade: who fell to it, who climbed back, and after how long."""
        policy = self.scenario.policy
        grades = len(policy.grades)
        start = np.full(final_grade.shape[0], policy.start_grade(), dtype=np.int64)
        t = self.tallies
        t["grade_transitions"] = np.bincount(
            start * grades + final_grade, minlength=grades * grades
        )
        bottom = grades - 1
        bins = self.days // RECOVERY_BIN_DAYS + 1
        t["bottom_entered"] = np.zeros(self.strata_count, dtype=np.int64)
        t["bottom_recovered"] = np.zeros(self.strata_count, dtype=np.int64)
        t["recovery_days"] = np.zeros(bins, dtype=np.int64)
        t["recovery_days_total"] = np.zeros(1, dtype=np.int64)
        if ledger is None or ledger.changes.person.size == 0:
            return
        spells = _first_spells(ledger.changes, bottom, self.days)
        entered, recovered, duration = spells
        strata = self.strata
        t["bottom_entered"] = np.bincount(strata[entered], minlength=self.strata_count)
        t["bottom_recovered"] = np.bincount(strata[recovered], minlength=self.strata_count)
        t["recovery_days"] = np.bincount(duration // RECOVERY_BIN_DAYS, minlength=bins)
        t["recovery_days_total"] = np.array([int(duration.sum())])

    def add_sanction(
        self,
        name: str,
        appeals: AppealOutcome,
        wrongful: np.ndarray,
        deserved: Intervals,
        denied_person: np.ndarray,
        denied_day: np.ndarray,
    ) -> None:
        n, days, cells = self.pop.size, self.days, self.cells
        strata, sc = self.strata, self.strata_count
        sanction = next(s for s in self.scenario.sanctions if s.name == name)
        recorded = appeals.intervals
        sanctioned = np.unique(recorded.person).astype(np.int64)
        due = np.unique(deserved.person).astype(np.int64)
        if self.keep_rows:
            self.col[f"days_{name}"] = recorded.days_per_person(n, days)
            self.col[f"wrongful_{name}"] = _mask(wrongful, n)
            if sanction.purchases is not None:
                denied = np.bincount(denied_person, minlength=n).astype(np.int32)
                self.col[f"denied_{name}"] = denied
        household = self.pop.household
        if sanction.kind == "sanction":  # rewards are not part of "any sanction"
            self.any_sanctioned = np.union1d(self.any_sanctioned, sanctioned)
            self.any_wrongful = np.union1d(self.any_wrongful, wrongful)
            self.any_deserved = np.union1d(self.any_deserved, due)
            self.any_household[household[sanctioned]] = True
            if sanction.reach in ("children", "household"):
                self.children_affected[sanctioned] = self.pop.children[sanctioned]
                self.reached_households[household[sanctioned]] = True

        self._tally_outcome(name, sanctioned, wrongful, due)
        t = self.tallies
        if sanction.purchases is not None:
            t[f"{name}:denied_purchases"] = np.bincount(strata[denied_person], minlength=sc)
        t[f"{name}:days"] = np.bincount(
            strata[recorded.person], weights=recorded.days_within(days), minlength=sc
        )
        t[f"{name}:intervals"] = np.array([recorded.size])
        wrongful_interval = np.isin(recorded.person, wrongful)
        t[f"{name}:appeals"] = np.array(
            [
                appeals.filed.sum(),
                appeals.upheld.sum(),
                appeals.insincere.sum(),
                appeals.lifted.sum(),
                (appeals.lifted & wrongful_interval).sum(),
                (appeals.filed & wrongful_interval).sum(),
            ]
        )

        ts = self.ts
        ts[f"{name}:started"] = self._by_period(recorded.start, cells[recorded.person])
        ts[f"{name}:active"] = self._active(recorded)
        if sanction.purchases is not None:
            ts[f"{name}:denied_purchases"] = self._by_period(denied_day, cells[denied_person])

    def _tally_outcome(self, name, sanctioned, wrongful, deserved) -> None:
        """Tallies of one outcome from sorted citizen ids: sanctioned, wrongful, deserved."""
        strata, sc = self.strata, self.strata_count
        caught = np.intersect1d(sanctioned, deserved, assume_unique=True)
        t = self.tallies
        t[f"{name}:sanctioned"] = np.bincount(strata[sanctioned], minlength=sc)
        t[f"{name}:wrongful"] = np.bincount(strata[wrongful], minlength=sc)
        t[f"{name}:deserved"] = np.bincount(strata[deserved], minlength=sc)
        t[f"{name}:true_positive"] = np.bincount(strata[caught], minlength=sc)
        t[f"{name}:wrongful_by_cause"] = np.array(
            [np.isin(wrongful, by, assume_unique=True).sum() for by in self.wronged_by]
        )
        exempt = self.exempt
        t[f"{name}:exempt"] = np.array(
            [exempt[sanctioned].sum(), exempt[deserved].sum(), exempt[caught].sum()]
        )

    def finish(self) -> ShardResult:
        col = self.col
        n = self.pop.size
        col["any_sanction"] = _mask(self.any_sanctioned, n)
        col["any_wrongful"] = _mask(self.any_wrongful, n)
        col["children_affected"] = self.children_affected
        self._tally_outcome("any", self.any_sanctioned, self.any_wrongful, self.any_deserved)
        sc = self.strata_count
        reached = self.reached_households[self.pop.household]
        t = self.tallies
        child = self.pop.age_band == CHILD
        t["children_reached"] = _cell_count(self.strata, reached & child, sc)
        t["children_with_sanctioned_household"] = _cell_count(
            self.strata, self.any_household[self.pop.household] & child, sc
        )
        t["households_reached"] = np.array([int(self.any_household.sum())])
        t["households"] = np.array([self.pop.households])
        for key, value in t.items():
            t[key] = np.rint(value).astype(np.int64)

        citizens = {key.replace(":", "_"): value for key, value in col.items()}
        timeseries = {key.replace(":", "_"): value for key, value in self.ts.items()}
        return ShardResult(
            citizens=citizens, timeseries=timeseries, histograms=self.histograms, tallies=t
        )

    def _by_period(self, day, cell, mask=None) -> np.ndarray:
        """Counts per (period, cell); `mask` selects which items count."""
        if mask is not None:
            day, cell = day[mask], cell[mask]
        index = (day // self.period).astype(np.int64) * self.cell_count + cell
        size = self.periods * self.cell_count
        counts = np.bincount(index, minlength=size)[:size]
        return counts.reshape(self.periods, self.cell_count)

    def _active(self, intervals: Intervals) -> np.ndarray:
        """People under the sanction at the end of each period."""
        ends = np.minimum((np.arange(self.periods) + 1) * self.period, self.days) - 1
        first = np.searchsorted(ends, intervals.start, side="left")
        last = np.searchsorted(ends, intervals.end - 1, side="right") - 1
        live = first <= last
        cell = self.cells[intervals.person[live]].astype(np.int64)
        width = self.periods + 1
        change = np.bincount(cell * width + first[live], minlength=self.cell_count * width)
        change -= np.bincount(cell * width + last[live] + 1, minlength=self.cell_count * width)
        return np.cumsum(change.reshape(self.cell_count, width), axis=1)[:, :-1].T


def _give_up(scenario, pop, events, records, deterred, exempt, days, seed, shard):
    """Citizens at or below the giving-up grade stop caring: the offences deterrence held back
    while they were there happen after all, and are observed like any other. The grades come
    from one replay without them (one step towards the fixed point, not the fixed point)."""
    settings = scenario.response.giving_up
    if not scenario.responding() or not settings.enabled or deterred.size == 0:
        return events, records
    policy = scenario.policy
    lowest = len(policy.grades) - 1
    grade = lowest if settings.grade is None else policy.grade_of(settings.grade)
    ledger = run_ledger(
        policy, deltas(scenario), records.day, records.subject, records.kind, pop.size, days
    )
    spells = grade_spells(ledger.changes, lambda g: g >= grade, days, 0)
    restored = given_up(deterred, spells)
    if restored.size == 0:
        return events, records
    extra = observe(scenario, pop, restored, days, seed, shard, purpose="giving-up")
    if scenario.exemptions.records_dropped and exempt.any():
        extra = extra.take(np.flatnonzero(~exempt[extra.subject]))
    return Events.merge(events, restored), Records.concat([records, extra]).sorted_by_day()


def _by_behaviour_and_group(events: Events, pop: Population, scenario: Scenario) -> np.ndarray:
    """Event counts per (behaviour, group), flattened."""
    xp = namespace(events.behaviour)
    groups = len(scenario.groups)
    index = events.behaviour.astype(np.int64) * groups + pop.group[events.person]
    return to_host(xp.bincount(index, minlength=len(scenario.behaviours) * groups))


def _swap(scenario: Scenario, days: int) -> tuple[int, float] | None:
    swap = scenario.attacks.score_swap
    return (swap.day, swap.share) if swap.enabled and swap.day < days else None


def _first_spells(changes, bottom: int, days: int):
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


def _mask(citizens: np.ndarray, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[citizens] = True
    return mask


def _cell_count(cells: np.ndarray, mask: np.ndarray, cell_count: int) -> np.ndarray:
    return np.bincount(cells[mask], minlength=cell_count)


def _count(person: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(person[mask], minlength=n).astype(np.int32)


class _Clock:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = self.laps.get(stage, 0.0) + now - self._last
        self._last = now
        if self.progress is not None:
            self.progress(stage)


__all__ = ["ShardResult", "horizon_days", "run_shard"]
