"""One shard's run: the whole flow, population to tallies, over arrays.

A shard is a sample of whole households with its own random streams, so shards are independent
and their tallies add up exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from creditsim.attacks import inject, leaked
from creditsim.behaviours import Events, draw_with_extra
from creditsim.channels import Records, observe
from creditsim.channels.records import CAUSES, CORRECT, NO_ACTOR, SCORE_SWAP
from creditsim.engine.backend import array_module, namespace, to_host
from creditsim.engine.streams import stream
from creditsim.exemptions import exempt_citizens, waive
from creditsim.policies.lists import ListRule
from creditsim.policies.scores import (
    GradeChanges,
    Ledger,
    ScoreRule,
    grade_changes_for_sanctions,
    grade_of,
    run_ledger,
    score_rules,
    stack_changes,
    start_histogram,
)
from creditsim.population import CHILD, Population, build_population
from creditsim.published import PublishedEntry, blacklist_columns, entries_of
from creditsim.response import gaming_rates, given_up, respond_mask
from creditsim.sanctions import (
    AppealOutcome,
    Intervals,
    appeal,
    denied_purchases,
    grade_spells,
    impose,
    no_intervals,
    people,
    wrongful_citizens,
)
from creditsim.scenario.schema import INCOME_BANDS, Scenario, ScorePolicy, Trigger

Progress = Callable[[str], None]
RECOVERY_BIN_DAYS = 30
GIVING_UP_MAX_STEPS = 50  # the fixed point comes in a few steps; this only bounds a pathology


@dataclass
class ShardResult:
    """What one shard hands back: its citizen rows, and aggregates that add up across shards."""

    citizens: dict[str, np.ndarray]
    timeseries: dict[str, np.ndarray]  # counts, (periods, cells) each
    histograms: dict[str, np.ndarray]  # per score policy: (periods, cells, score range)
    tallies: dict[str, np.ndarray]
    timings: dict[str, float] = field(default_factory=dict)
    # The published entries (the public blacklist), one row each; empty when none.
    blacklist: dict[str, np.ndarray] = field(default_factory=dict)


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
    candidates, gamed = draw_with_extra(scenario, pop, days, seed, shard, gaming_rates(scenario))
    keep = respond_mask(scenario, pop, candidates, seed, shard)
    # The events before any response are exactly those of the same citizens without the system
    # (common random numbers), so the system's effect on behaviour is a paired difference.
    without_system = _by_behaviour_and_group(candidates, pop, scenario)
    if bool(gamed.any()):
        gaming = candidates.take(xp.flatnonzero(gamed))
        without_system = without_system - _by_behaviour_and_group(gaming, pop, scenario)
    events = candidates if keep is None else candidates.take(xp.flatnonzero(keep))
    deterred_at = xp.zeros(0, dtype=np.int64)
    if keep is not None and _may_give_up(scenario):
        deterred_at = xp.flatnonzero(~keep)
    else:
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
    rules = score_rules(scenario, pop, seed, shard)
    if deterred_at.size:
        deterred = candidates.take(deterred_at).to_host()
        back, records = _give_up(scenario, pop, records, deterred, exempt, rules, days, seed,
                                 shard)  # fmt: skip
        if back.any():
            # The deterred events that came back join the others where they were drawn.
            chosen = keep.copy()
            chosen[deterred_at[xp.asarray(np.flatnonzero(back))]] = True
            events = candidates.take(xp.flatnonzero(chosen)).to_host()
        del candidates
    clock.lap("channels")

    groups = len(scenario.groups)
    cells = pop.region_group(groups)
    cell_count = len(scenario.regions) * groups
    period = scenario.run.timeseries_every_days
    lists = [ListRule(scenario, p, pop.income_band, seed, shard) for p in scenario.list_policies]

    if scenario.system_enabled:
        ledgers = {
            rule.policy.name: run_ledger(
                rule, *rule.records(records.day, records.subject, records.kind, records.channel),
                days, cells, cell_count, period, _swap(scenario, days) if i == 0 else None,
            )
            for i, rule in enumerate(rules)
        }  # fmt: skip
        own = records.take(np.flatnonzero(records.cause == CORRECT))
        own_changes, perfect_changes = {}, {}
        for rule in rules:
            triggers = _grade_triggers(scenario, rule)
            own_changes[rule.policy.name] = grade_changes_for_sanctions(
                rule, triggers, *rule.records(own.day, own.subject, own.kind, own.channel), days
            )
            perfect_changes[rule.policy.name] = grade_changes_for_sanctions(
                rule, triggers, *rule.events(events), days
            )
        listed = {
            r.policy.name: r.entries(records.day, records.subject, records.kind) for r in lists
        }
        own_listed = {r.policy.name: r.entries(own.day, own.subject, own.kind) for r in lists}
        due_listed = {
            r.policy.name: r.entries(events.day, events.person, events.behaviour) for r in lists
        }
        clock.lap("policies")
    else:
        ledgers, own_changes, perfect_changes = {}, {}, {}
        listed = own_listed = due_listed = {r.policy.name: no_intervals() for r in lists}
        clock.lap("policies")

    tables = _Tables(
        scenario, pop, events, records, rules, ledgers, days, cells, cell_count, period,
        first_citizen, exempt, keep_rows,
    )  # fmt: skip
    grade = tables.primary_grade
    list_appeals = {}
    for rule in lists:
        name = rule.policy.name
        entries = listed[name]
        if scenario.exemptions.sanctions_waived and exempt.any():
            entries = waive(entries, exempt)
        wrongful = wrongful_citizens(entries, own_listed[name])
        appeals = appeal(
            scenario, f"list:{name}", "appeal" in rule.policy.removal, entries, wrongful,
            pop.income_band, grade, days, seed, shard,
        )  # fmt: skip
        listed[name] = appeals.intervals
        list_appeals[name] = (appeals, wrongful)

    if scenario.system_enabled:
        changes = {name: ledger.changes for name, ledger in ledgers.items()}
        recorded = impose(
            scenario, changes, listed, records.day, records.subject, records.kind, days
        )
        if scenario.exemptions.sanctions_waived and exempt.any():
            recorded = {name: waive(spans, exempt) for name, spans in recorded.items()}
        own_true = impose(scenario, own_changes, own_listed, own.day, own.subject, own.kind, days)
        deserved = impose(
            scenario, perfect_changes, due_listed, events.day, events.person, events.behaviour,
            days,
        )  # fmt: skip
        for rule in rules:
            tables.add_policy_standing(
                rule, ledgers[rule.policy.name], own_changes[rule.policy.name],
                perfect_changes[rule.policy.name], records, exempt,
            )  # fmt: skip
        clock.lap("sanctions")
    else:
        nothing = {s.name: no_intervals() for s in scenario.sanctions}
        recorded = own_true = deserved = nothing
        clock.lap("sanctions")

    tables.tallies["leak"] = np.array(leaked(scenario, records, seed, shard))
    tables.tallies["events_without_system"] = without_system
    tables.tallies["events_with_system"] = _by_behaviour_and_group(events, pop, scenario)
    for name, (appeals, wrongful) in list_appeals.items():
        tables.add_list(name, appeals, wrongful, due_listed[name])
    for sanction in scenario.sanctions:
        name = sanction.name
        wrongful = wrongful_citizens(recorded[name], own_true[name])
        appeals = appeal(
            scenario, name, sanction.appealable, recorded[name], wrongful, pop.income_band,
            grade, days, seed, shard,
        )  # fmt: skip
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
        rules: list[ScoreRule],
        ledgers: dict[str, Ledger],
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
        self.category_of, self.category_count = category_of, len(categories) + 1

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
        self.first_citizen, self.records = first_citizen, records
        penalties = [s.name for s in scenario.sanctions if s.kind == "sanction"]
        self.penalty_index = {name: i for i, name in enumerate(penalties)}
        self.under = np.zeros((n, len(penalties)), dtype=bool)
        self.published: list[PublishedEntry] = []
        self.changes = {name: ledger.changes for name, ledger in ledgers.items()}
        wrongful = records.actor != records.subject
        # Events are grouped by behaviour: each behaviour's events are one slice.
        bounds = events.bounds(len(scenario.behaviours))

        def persons(chosen: np.ndarray) -> np.ndarray:
            """The actors of the events of the behaviours where `chosen` holds."""
            slices = [events.person[bounds[b] : bounds[b + 1]] for b in np.flatnonzero(chosen)]
            return np.concatenate(slices) if slices else events.person[:0]

        kinds = len(scenario.behaviours)
        behaviour_category, offences_of = category_of[:kinds], offence[:kinds]
        if keep_rows:  # columns only the citizen rows need
            # Events are counted once per (category, offence or not): the categories' counts
            # and the offences' are sums of these.
            offending = []
            for c, name in enumerate(categories):
                parts = []
                for flag in (False, True):
                    chosen = (behaviour_category == c) & (offences_of == flag)
                    if chosen.any():
                        parts.append(_count_all(persons(chosen), n))
                        if flag:
                            offending.append(parts[-1])
                col[f"true_{name}"] = parts[0] if len(parts) == 1 else parts[0] + parts[1]
            true_offences = _sum_counts(offending, n)
            record_category = category_of[records.kind]
            recorded = [
                _count(records.subject, record_category == c, n) for c in range(len(categories))
            ]
            for name, counts in zip(categories, recorded, strict=True):
                col[f"recorded_{name}"] = counts
            col["records"] = _sum_counts(recorded, n)  # every behaviour has a category
            col["wrongful_records"] = _count(records.subject, wrongful, n)
            col["reports_made"] = _count(records.subject, records.kind == kinds, n)
        else:
            true_offences = _count_all(persons(offences_of), n)
        # Who got a wrongful record of each cause (face, plate, ...): (citizens, causes).
        self.wronged = np.zeros((n, len(CAUSES)), dtype=bool)
        wrong = np.flatnonzero(records.cause != CORRECT)
        self.wronged[records.subject[wrong], records.cause[wrong]] = True
        primary = ledgers.get(scenario.policy.name)
        if primary is not None:
            self.wronged[primary.swapped_down, SCORE_SWAP] = True
        col["true_offences"] = true_offences
        self.histograms: dict[str, np.ndarray] = {}
        for rule in rules:
            name, ledger = rule.policy.name, ledgers.get(rule.policy.name)
            if ledger is None:  # no system: everyone keeps the starting score
                score = rule.start
                still = start_histogram(rule.policy, score, cells, cell_count)
                histograms = np.broadcast_to(still, (self.periods, *still.shape))
                grade = grade_of(rule.policy, score)
                ledger = Ledger(score, grade, stack_changes([]), histograms, initial_grade=grade)
            col[f"score_{name}"] = ledger.score
            col[f"grade_{name}"] = ledger.grade
            self.histograms[name] = ledger.histograms
        self.primary_grade = col[f"grade_{scenario.policy.name}"]
        self.col = col
        # Who is under any sanction (rightly or not), and who deserved one: masks, filled as
        # each sanction is added.
        self.any_sanctioned = np.zeros(n, dtype=bool)
        self.any_wrongful = np.zeros(n, dtype=bool)
        self.any_deserved = np.zeros(n, dtype=bool)
        nobody = np.zeros(0, dtype=np.int64)
        self.children_affected = np.zeros(n, dtype=np.int32)
        self.reached_households = np.zeros(pop.households, dtype=bool)
        self.any_household = np.zeros(pop.households, dtype=bool)

        strata, sc = self.strata, self.strata_count
        # Events (offences or not) and records (wrongful or not) counted once, by period and
        # stratum: the time series (by cell) and the tallies (by stratum) are sums of these.
        offences = np.repeat(offence[:-1], np.diff(bounds))
        events_by = self._by_period_and_stratum(events.day, strata[events.person], offences)
        records_by = self._by_period_and_stratum(records.day, strata[records.subject], wrongful)
        self.ts = {
            "events": self._by_cell(events_by.sum(axis=0)),
            "offences": self._by_cell(events_by[1]),
            "records": self._by_cell(records_by.sum(axis=0)),
            "wrongful_records": self._by_cell(records_by[1]),
        }

        tallies: dict[str, np.ndarray] = {
            "citizens": np.bincount(strata, minlength=sc),
            "true_events": events_by.sum(axis=(0, 1)),
            "true_offences": events_by[1].sum(axis=0),
            "offenders": _cell_count(strata, col["true_offences"] > 0, sc),
            "records": records_by.sum(axis=(0, 1)),
            "wrongful_records": records_by[1].sum(axis=0),
            "exempt_citizens": _cell_count(strata, exempt, sc),
            "records_by_cause": np.bincount(records.cause, minlength=len(CAUSES)),
            "fabricated_records": np.array([int((records.actor == NO_ACTOR).sum())]),
            "events_by_behaviour": np.diff(bounds),
            "records_by_behaviour": np.bincount(
                records.kind, minlength=len(scenario.behaviours) + 2
            ),
        }
        self.tallies = tallies
        self.punished: dict[str, np.ndarray] = {}
        for rule in rules:
            name = rule.policy.name
            # Nobody punished, until add_policy_standing says otherwise (no system: nobody).
            self.punished[name] = nobody
            self._tally_outcome(f"policy:{name}", nobody, nobody, nobody)
            tallies[f"policy:{name}:records_by_category"] = np.zeros(
                self.category_count, dtype=np.int64
            )
            ledger = ledgers.get(name)
            initial = ledger.initial_grade if ledger is not None else col[f"grade_{name}"]
            changes = ledger.changes if ledger is not None else stack_changes([])
            self._tally_mobility(rule, initial, col[f"grade_{name}"], changes)

    def _tally_mobility(self, rule, initial_grade, final_grade, changes: GradeChanges) -> None:
        """Grade transitions from the start to the end of the run, and spells at the bottom
        grade: who fell to it, who climbed back, and after how long."""
        grades = len(rule.policy.grades)
        key = f"policy:{rule.policy.name}"
        t = self.tallies
        t[f"{key}:grade_transitions"] = np.bincount(
            initial_grade.astype(np.int64) * grades + final_grade, minlength=grades * grades
        )
        bins = self.days // RECOVERY_BIN_DAYS + 1
        entered, recovered, duration = _first_spells(changes, grades - 1, self.days)
        strata = self.strata
        t[f"{key}:bottom_entered"] = np.bincount(strata[entered], minlength=self.strata_count)
        t[f"{key}:bottom_recovered"] = np.bincount(strata[recovered], minlength=self.strata_count)
        t[f"{key}:recovery_days"] = np.bincount(duration // RECOVERY_BIN_DAYS, minlength=bins)
        t[f"{key}:recovery_days_total"] = np.array([int(duration.sum())])

    def add_policy_standing(
        self,
        rule: ScoreRule,
        ledger: Ledger,
        own_changes: GradeChanges,
        perfect_changes: GradeChanges,
        records: Records,
        exempt: np.ndarray,
    ) -> None:
        """Who the policy punishes (ever at or below its low grade), whether they deserved it,
        and why: the kinds of the deductions it recorded against them."""
        low = rule.policy.low_grade_index()
        days = self.days

        def ever_low(changes: GradeChanges) -> np.ndarray:
            spells = grade_spells(changes, lambda g: g >= low, days, 0)
            return people(spells)

        name = rule.policy.name
        punished = ever_low(ledger.changes)
        wrongful = np.setdiff1d(punished, ever_low(own_changes), assume_unique=True)
        self.punished[name] = punished
        self._tally_outcome(f"policy:{name}", punished, wrongful, ever_low(perfect_changes))
        about = np.flatnonzero(_mask(punished, self.pop.size)[records.subject])
        kind = records.kind[about]
        about = about[rule.channel_read[records.channel[about]] & (rule.delta_by_kind[kind] < 0)]
        self.tallies[f"policy:{name}:records_by_category"] = np.bincount(
            self.category_of[records.kind[about]], minlength=self.category_count
        )

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
        sanctioned, due = people(recorded), people(deserved)
        if self.keep_rows:
            self.col[f"days_{name}"] = recorded.days_per_person(n, days)
            self.col[f"wrongful_{name}"] = _mask(wrongful, n)
            if sanction.purchases is not None:
                denied = np.bincount(denied_person, minlength=n).astype(np.int32)
                self.col[f"denied_{name}"] = denied
        household = self.pop.household
        published = entries_of(self.scenario, name, recorded, wrongful)
        if published is not None:
            self.published.append(published)
        if sanction.kind == "sanction":  # rewards are not part of "any sanction"
            self.under[sanctioned, self.penalty_index[name]] = True
            self.any_sanctioned[sanctioned] = True
            self.any_wrongful[wrongful] = True
            self.any_deserved[due] = True
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
        t[f"{name}:appeals"] = _appeal_counts(appeals, wrongful)

        ts = self.ts
        ts[f"{name}:started"] = self._by_period(recorded.start, cells[recorded.person])
        ts[f"{name}:active"] = self._active(recorded)
        if sanction.purchases is not None:
            ts[f"{name}:denied_purchases"] = self._by_period(denied_day, cells[denied_person])

    def add_list(
        self, name: str, appeals: AppealOutcome, wrongful: np.ndarray, deserved: Intervals
    ) -> None:
        """Who is on a list, rightly or not, for how long, and how entries end."""
        n, days, strata, sc = self.pop.size, self.days, self.strata, self.strata_count
        entries = appeals.intervals
        key = f"list:{name}"
        if self.keep_rows:
            self.col[f"days_listed_{name}"] = entries.days_per_person(n, days)
            self.col[f"wrongful_listed_{name}"] = _mask(wrongful, n)
        self._tally_outcome(key, people(entries), wrongful, people(deserved))
        published = entries_of(self.scenario, key, entries, wrongful)
        if published is not None:
            self.published.append(published)
        t = self.tallies
        t[f"{key}:days"] = np.bincount(
            strata[entries.person], weights=entries.days_within(days), minlength=sc
        )
        t[f"{key}:appeals"] = _appeal_counts(appeals, wrongful)
        ended = entries.end < days
        t[f"{key}:removal"] = np.array(
            [entries.size, int((ended & ~appeals.lifted).sum()), int(appeals.lifted.sum()),
             int((~ended).sum())]
        )  # fmt: skip
        self.ts[f"{key}:entered"] = self._by_period(entries.start, self.cells[entries.person])
        self.ts[f"{key}:listed"] = self._active(entries)

    def _tally_outcome(self, name, sanctioned, wrongful, deserved) -> None:
        """Tallies of one outcome from sorted citizen ids: sanctioned, wrongful, deserved."""
        strata, sc = self.strata, self.strata_count
        caught = np.intersect1d(sanctioned, deserved, assume_unique=True)
        t = self.tallies
        t[f"{name}:sanctioned"] = np.bincount(strata[sanctioned], minlength=sc)
        t[f"{name}:wrongful"] = np.bincount(strata[wrongful], minlength=sc)
        t[f"{name}:deserved"] = np.bincount(strata[deserved], minlength=sc)
        t[f"{name}:true_positive"] = np.bincount(strata[caught], minlength=sc)
        t[f"{name}:wrongful_by_cause"] = self.wronged[wrongful].sum(axis=0)
        exempt = self.exempt
        t[f"{name}:exempt"] = np.array(
            [exempt[sanctioned].sum(), exempt[deserved].sum(), exempt[caught].sum()]
        )

    def finish(self) -> ShardResult:
        col = self.col
        col["any_sanction"] = self.any_sanctioned
        col["any_wrongful"] = self.any_wrongful
        col["children_affected"] = self.children_affected
        anyone = (self.any_sanctioned, self.any_wrongful, self.any_deserved)
        self._tally_outcome("any", *(np.flatnonzero(mask) for mask in anyone))
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
        names = list(self.punished)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                both = np.intersect1d(self.punished[a], self.punished[b], assume_unique=True)
                t[f"overlap:{a}:{b}"] = np.bincount(self.strata[both], minlength=sc)
        for key, value in t.items():
            t[key] = np.rint(value).astype(np.int64)

        citizens = {key.replace(":", "_"): value for key, value in col.items()}
        timeseries = {key.replace(":", "_"): value for key, value in self.ts.items()}
        blacklist = blacklist_columns(
            self.scenario, self.pop, self.first_citizen, self.published, self.records,
            self.changes, self.under, self.wronged, self.days,
        )  # fmt: skip
        return ShardResult(
            citizens=citizens,
            timeseries=timeseries,
            histograms=self.histograms,
            tallies=t,
            blacklist=blacklist,
        )

    def _by_period(self, day, cell, mask=None) -> np.ndarray:
        """Counts per (period, cell); `mask` selects which items count."""
        if mask is not None:
            day, cell = day[mask], cell[mask]
        index = (day // self.period).astype(np.int64) * self.cell_count + cell
        size = self.periods * self.cell_count
        counts = np.bincount(index, minlength=size)[:size]
        return counts.reshape(self.periods, self.cell_count)

    def _by_period_and_stratum(self, day, stratum, flag) -> np.ndarray:
        """Counts of items within the run, per (flag, period, stratum). (An index into a table of
        that many counts fits in 32 bits.)"""
        shape = (2, self.periods, self.strata_count)
        slot = flag.astype(np.int32) * self.periods + day // self.period
        index = slot * self.strata_count + stratum
        return np.bincount(index, minlength=np.prod(shape)).reshape(shape)

    def _by_cell(self, by_stratum: np.ndarray) -> np.ndarray:
        """(..., strata) counts summed over income bands: (..., cells)."""
        bands = len(INCOME_BANDS)
        return by_stratum.reshape(*by_stratum.shape[:-1], self.cell_count, bands).sum(axis=-1)

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


def _appeal_counts(appeals: AppealOutcome, wrongful: np.ndarray) -> np.ndarray:
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


def _grade_triggers(scenario: Scenario, rule: ScoreRule) -> list[Trigger]:
    """The grade triggers on this policy: its sanctions', and its low grade for the audit."""
    name = rule.policy.name
    triggers = [
        s.trigger
        for s in scenario.sanctions
        if scenario.score_policy(s.trigger.policy).name == name
    ]
    return [*triggers, _at_or_below(rule.policy, rule.policy.low_grade_index())]


def _at_or_below(policy: ScorePolicy, grade: int) -> Trigger:
    """A trigger on a grade (an index) of a policy, for replays the audit or giving up need;
    built without validation, as the grade may be the one a policy starts in."""
    return Trigger.model_construct(
        policy=policy.name, grade_at_or_below=policy.grades[grade].grade, grade_at_or_above=None
    )


def _may_give_up(scenario: Scenario) -> bool:
    return scenario.responding() and scenario.response.giving_up.enabled


def _give_up(scenario, pop, records, deterred, exempt, rules, days, seed, shard):
    """Citizens at or below the giving-up grade of the primary policy stop caring: the offences
    deterrence held back while they were there happen after all, and are observed like any
    other. More records sink more citizens, so this repeats until no further offence comes back
    (a fixed point: the set only grows), each step observing only the offences new to it.

    Returns which deterred events came back, and the records with theirs added."""
    back = np.zeros(deterred.size, dtype=bool)
    if not _may_give_up(scenario) or deterred.size == 0:
        return back, records
    settings = scenario.response.giving_up
    rule = rules[0]
    policy = rule.policy
    lowest = len(policy.grades) - 1
    floor = lowest if settings.grade is None else policy.grade_of(settings.grade)
    # Only the citizens whose records could take them to the floor are replayed.
    at_floor = _at_or_below(policy, floor)
    parts = [records]
    reads = [rule.records(records.day, records.subject, records.kind, records.channel)]
    changed = None  # who got new records in the last step (None at first)
    for step in range(GIVING_UP_MAX_STEPS):
        picked = reads
        if changed is not None and rule.network is None:
            # Only they can sink further: the others' spells are those of the step before.
            # (Where contacts count, their contacts can too: everyone is replayed.)
            picked = [tuple(c[np.flatnonzero(changed[r[1]])] for c in r) for r in reads]
        read = picked[0]
        if len(picked) > 1:
            read = tuple(np.concatenate(columns) for columns in zip(*picked, strict=True))
        changes = grade_changes_for_sanctions(rule, [at_floor], *read, days)
        spells = grade_spells(changes, lambda g: g >= floor, days, 0)
        new = given_up(deterred, spells) & ~back
        if not new.any():
            break
        back |= new
        extra = observe(
            scenario, pop, deterred.take(np.flatnonzero(new)), days, seed, shard,
            purpose=f"giving-up:{step}",
        )  # fmt: skip
        if scenario.exemptions.records_dropped and exempt.any():
            extra = extra.take(np.flatnonzero(~exempt[extra.subject]))
        parts.append(extra)
        reads.append(rule.records(extra.day, extra.subject, extra.kind, extra.channel))
        changed = np.zeros(pop.size, dtype=bool)
        changed[extra.subject] = True
    if len(parts) == 1:
        return back, records
    return back, Records.concat(parts)


def _by_behaviour_and_group(events: Events, pop: Population, scenario: Scenario) -> np.ndarray:
    """Event counts per (behaviour, group), flattened."""
    xp = namespace(events.behaviour)
    groups = len(scenario.groups)
    bounds = events.bounds(len(scenario.behaviours))
    group = pop.group[events.person]
    counts = [
        xp.count_nonzero(group[lo:hi] == g) for lo, hi in pairwise(bounds) for g in range(groups)
    ]
    return to_host(xp.stack(counts))


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
    return _count_all(person[mask], n)


def _sum_counts(counts: list[np.ndarray], n: int) -> np.ndarray:
    if not counts:
        return np.zeros(n, dtype=np.int32)
    total = counts[0].copy()
    for more in counts[1:]:
        total += more
    return total


def _count_all(person: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(person, minlength=n).astype(np.int32)


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
