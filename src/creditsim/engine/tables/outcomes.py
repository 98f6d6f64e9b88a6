"""What the system did to the citizens, tallied: records leaked, behaviour changed, who was
listed and sanctioned (rightly or not, appealed, denied purchases); then the shard's result."""

from __future__ import annotations

import numpy as np

from creditsim.attacks import leaked
from creditsim.engine.stage import stage
from creditsim.engine.stages.citizens import by_behaviour_and_group
from creditsim.engine.state import Appealed, ShardResult, ShardState
from creditsim.engine.tables.tables import Tables, appeal_counts, count_where, mask
from creditsim.intervals import Intervals, people
from creditsim.population import CHILD
from creditsim.published import blacklist_columns, entries_of
from creditsim.scenario.timeline import year_starts


@stage(
    "leak",
    reads=("scenario", "records", "seed", "shard", "tables"),
    writes=("tables",),
    purposes=("attack:leak",),
    tallies=("leak",),
)
def leak(state: ShardState) -> None:
    """The records and citizens an open database exposes."""
    exposed = leaked(state.scenario, state.records, state.seed, state.shard)
    state.tables.tallies["leak"] = np.array(exposed)


@stage(
    "behaviour-change",
    reads=("scenario", "pop", "events", "without_system", "tables"),
    writes=("tables",),
    tallies=("events_without_system", "events_with_system"),
)
def behaviour_change(state: ShardState) -> None:
    """Events per behaviour and group, without and with the system: the same citizens' paired
    difference."""
    tallies = state.tables.tallies
    tallies["events_without_system"] = state.without_system
    tallies["events_with_system"] = by_behaviour_and_group(state.events, state.pop, state.scenario)


_OUTCOME = ("sanctioned", "wrongful", "deserved", "true_positive", "wrongful_by_cause", "exempt")


@stage(
    "list-outcomes",
    reads=("scenario", "list_appeals", "listed", "tables", "exempt", "keep_rows", "pop", "days"),
    writes=("tables",),
    tallies=(
        *(f"list:{{list}}:{t}" for t in _OUTCOME), "list:{list}:days", "list:{list}:appeals",
        "list:{list}:removal", "list:{list}:by_year",
    ),
)  # fmt: skip
def list_outcomes(state: ShardState) -> None:
    """Who is on each list, rightly or not, for how long, and how entries end."""
    for name, appealed in state.list_appeals.items():
        _add_list(state, state.tables, name, appealed, state.listed.deserved[name])


def _add_list(
    state: ShardState, tables: Tables, name: str, appealed: Appealed, deserved: Intervals
) -> None:
    n, days, sc = state.pop.size, state.days, tables.strata_count
    appeals, wrongful = appealed.outcome, appealed.wrongful
    entries = appeals.intervals
    key = f"list:{name}"
    if state.keep_rows:
        listed, due = people(entries), people(deserved)
        tables.col[f"days_listed_{name}"] = entries.days_per_person(n, days)
        tables.col[f"wrongful_listed_{name}"] = mask(wrongful, n)
        tables.col[f"deserved_listed_{name}"] = mask(due, n)
        tables.col[f"false_positive_listed_{name}"] = mask(
            np.setdiff1d(listed, due, assume_unique=True), n
        )
    tables.tally_outcome(key, people(entries), wrongful, people(deserved))
    published = entries_of(state.scenario, key, entries, wrongful)
    if published is not None:
        tables.published.append(published)
    t = tables.tallies
    t[f"{key}:days"] = np.bincount(
        tables.strata[entries.person], weights=entries.days_within(days), minlength=sc
    )
    t[f"{key}:appeals"] = appeal_counts(appeals, wrongful)
    ended = entries.end < days
    t[f"{key}:removal"] = np.array(
        [entries.size, int((ended & ~appeals.lifted).sum()), int(appeals.lifted.sum()),
         int((~ended).sum())]
    )  # fmt: skip
    t[f"{key}:by_year"] = yearly(state.scenario, entries, None, days)
    tables.ts[f"{key}:entered"] = tables.by_period(entries.start, tables.cells[entries.person])
    tables.ts[f"{key}:listed"] = tables.active(entries)


@stage(
    "sanction-outcomes",
    reads=(
        "scenario", "sanction_appeals", "sanctioned", "denied", "tables", "exempt", "keep_rows",
        "pop", "days",
    ),
    writes=("tables",),
    tallies=(
        *(f"{{sanction}}:{t}" for t in _OUTCOME), "{sanction}:denied_purchases",
        "{sanction}:days", "{sanction}:intervals", "{sanction}:appeals",
        "{sanction}:children_reached", "{sanction}:by_year",
    ),
)  # fmt: skip
def sanction_outcomes(state: ShardState) -> None:
    """Who was under each sanction, rightly or not, for how long, appealed, denied purchases;
    and who is under any sanction, their children and households."""
    children = _Children(state.pop, state.tables)
    for sanction in state.scenario.sanctions:
        appealed = state.sanction_appeals[sanction.name]
        sanctioned = people(appealed.outcome.intervals)
        due = people(state.sanctioned.deserved[sanction.name])
        _reach(state, state.tables, sanction, appealed, sanctioned, due, children)
        _add_sanction(state, state.tables, sanction, appealed, sanctioned, due)


class _Children:
    """The children, their households and strata: what each sanction that reaches children
    counts, found once rather than among all citizens for each sanction."""

    def __init__(self, pop, tables: Tables) -> None:
        child = np.flatnonzero(pop.age_band == CHILD)
        self.household, self.stratum = pop.household[child], tables.strata[child]
        self.households, self.strata_count = pop.households, tables.strata_count

    def reached(self, households: np.ndarray | None) -> np.ndarray:
        """Children per stratum in `households` (None: none reached)."""
        if households is None:
            return np.zeros(self.strata_count, dtype=np.int64)
        reached = np.zeros(self.households, dtype=bool)
        reached[households] = True
        return np.bincount(self.stratum[reached[self.household]], minlength=self.strata_count)


def _reach(
    state: ShardState, tables: Tables, sanction, appealed: Appealed, sanctioned, due, children
):
    """Its columns and published entries; who is under any sanction (not a reward), and the
    children and households it reaches."""
    name, recorded, wrongful = sanction.name, appealed.outcome.intervals, appealed.wrongful
    if state.keep_rows:
        n = state.pop.size
        tables.col[f"days_{name}"] = recorded.days_per_person(n, state.days)
        tables.col[f"wrongful_{name}"] = mask(wrongful, n)
        # The truth beside the record: sanctioned under perfect information (the true events),
        # and sanctioned though not deserved (the false positive; `wrongful` is measured
        # against the citizen's own correct records instead).
        tables.col[f"deserved_{name}"] = mask(due, n)
        tables.col[f"false_positive_{name}"] = mask(
            np.setdiff1d(sanctioned, due, assume_unique=True), n
        )
        if sanction.purchases is not None:
            denied = np.bincount(state.denied[name][0], minlength=n).astype(np.int32)
            tables.col[f"denied_{name}"] = denied
    published = entries_of(state.scenario, name, recorded, wrongful)
    if published is not None:
        tables.published.append(published)
    # The children this sanction reaches: in the household of someone under it, where it
    # reaches the children or the household.
    reaches = sanction.reach in ("children", "household")
    tables.tallies[f"{name}:children_reached"] = children.reached(
        state.pop.household[sanctioned] if reaches else None
    )
    if state.keep_rows:
        affected = np.zeros(state.pop.size, dtype=state.pop.children.dtype)
        if sanction.reach in ("children", "household"):
            affected[sanctioned] = state.pop.children[sanctioned]
        tables.col[f"children_affected_{name}"] = affected
    if sanction.kind != "sanction":  # rewards are not part of "any sanction"
        return
    anyone, household = tables.anyone, state.pop.household
    anyone.under[sanctioned, anyone.penalty_index[name]] = True
    anyone.sanctioned[sanctioned] = True
    anyone.wrongful[wrongful] = True
    anyone.deserved[due] = True
    anyone.household[household[sanctioned]] = True
    if sanction.reach in ("children", "household"):
        anyone.children_affected[sanctioned] = state.pop.children[sanctioned]
        anyone.reached_households[household[sanctioned]] = True


def _add_sanction(state, tables: Tables, sanction, appealed: Appealed, sanctioned, due) -> None:
    name, days, sc = sanction.name, state.days, tables.strata_count
    recorded, wrongful = appealed.outcome.intervals, appealed.wrongful
    denied_person, denied_day = state.denied[name]
    tables.tally_outcome(name, sanctioned, wrongful, due)
    t, cells = tables.tallies, tables.cells
    if sanction.purchases is not None:
        t[f"{name}:denied_purchases"] = tables.by_stratum(denied_person)
    t[f"{name}:days"] = np.bincount(
        tables.strata[recorded.person], weights=recorded.days_within(days), minlength=sc
    )
    t[f"{name}:intervals"] = np.array([recorded.size])
    t[f"{name}:appeals"] = appeal_counts(appealed.outcome, wrongful)
    denied = denied_day if sanction.purchases is not None else None
    t[f"{name}:by_year"] = yearly(state.scenario, recorded, denied, days)
    tables.ts[f"{name}:started"] = tables.by_period(recorded.start, cells[recorded.person])
    tables.ts[f"{name}:active"] = tables.active(recorded)
    if sanction.purchases is not None:
        tables.ts[f"{name}:denied_purchases"] = tables.by_period(denied_day, cells[denied_person])


@stage(
    "outputs",
    reads=("scenario", "pop", "tables", "exempt", "records", "ledgers", "first_citizen", "days"),
    writes=("result",),
    tallies=(
        *(f"any:{t}" for t in _OUTCOME), "children_reached",
        "children_with_sanctioned_household", "households_reached", "households",
        "overlap:{policy}:{policy}",
    ),
)  # fmt: skip
def outputs(state: ShardState) -> None:
    """The shard's result: its columns, time series, histograms, tallies (whole numbers) and
    published blacklist."""
    tables = state.tables
    _any_sanction(state, tables)
    t = tables.tallies
    for key, value in t.items():
        t[key] = np.rint(value).astype(np.int64)
    changes = {name: ledger.changes for name, ledger in state.ledgers.items()}
    blacklist = blacklist_columns(
        state.scenario, state.pop, state.first_citizen, tables.published, state.records,
        changes, tables.anyone.under, tables.wronged, state.days,
    )  # fmt: skip
    state.result = ShardResult(
        citizens={key.replace(":", "_"): value for key, value in tables.col.items()},
        timeseries={key.replace(":", "_"): value for key, value in tables.ts.items()},
        histograms=tables.histograms,
        tallies=t,
        blacklist=blacklist,
    )


def _any_sanction(state: ShardState, tables: Tables) -> None:
    """Who is under any sanction, the children and households reached, and the overlaps of the
    score policies' punished."""
    anyone, pop, col = tables.anyone, state.pop, tables.col
    col["any_sanction"] = anyone.sanctioned
    col["any_wrongful"] = anyone.wrongful
    col["any_deserved"] = anyone.deserved
    col["any_false_positive"] = anyone.sanctioned & ~anyone.deserved
    col["children_affected"] = anyone.children_affected
    masks = (anyone.sanctioned, anyone.wrongful, anyone.deserved)
    tables.tally_outcome("any", *(np.flatnonzero(m) for m in masks))
    strata, sc = tables.strata, tables.strata_count
    reached = anyone.reached_households[pop.household]
    t = tables.tallies
    child = pop.age_band == CHILD
    t["children_reached"] = count_where(strata, reached & child, sc)
    t["children_with_sanctioned_household"] = count_where(
        strata, anyone.household[pop.household] & child, sc
    )
    t["households_reached"] = np.array([int(anyone.household.sum())])
    t["households"] = np.array([pop.households])
    names = list(tables.punished)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            both = np.intersect1d(tables.punished[a], tables.punished[b], assume_unique=True)
            t[f"overlap:{a}:{b}"] = tables.by_stratum(both)


YEARLY = (
    "people", "started", "at_end", "person_days", "people_to_date", "denied_purchases",
    "denied_to_date",
)  # fmt: skip


def yearly(scenario, intervals: Intervals, denied_day: np.ndarray | None, days: int) -> np.ndarray:
    """Per calendar year of the run, then for the period of interest (`run.report_from` to the
    end): the people under it at some time, the spells started, the people under it on the
    last day, the person-days, the people under it at some time from the run's start to the
    window's end, the purchases denied, and those denied from the run's start (YEARLY)."""
    windows = [(first, end) for _, first, end in year_starts(scenario.run.start_date, days)]
    windows.append((interest_start(scenario), days))
    out = np.zeros((len(windows), len(YEARLY)), dtype=np.int64)
    # By person once, so that the people among any of them are counted without a sort each.
    order = np.argsort(intervals.person, kind="stable")
    person, start, stop = intervals.person[order], intervals.start[order], intervals.end[order]
    for row, (first, end) in enumerate(windows):
        inside = (start < end) & (stop > first)
        out[row, 0] = _distinct_count(person[inside])
        out[row, 1] = np.count_nonzero((start >= first) & (start < end))
        out[row, 2] = _distinct_count(person[(start < end) & (stop >= end)])
        out[row, 3] = int(
            (np.minimum(stop[inside], end) - np.maximum(start[inside], first))
            .astype(np.int64)
            .sum()
        )
        out[row, 4] = _distinct_count(person[start < end])
        if denied_day is not None:
            out[row, 5] = np.count_nonzero((denied_day >= first) & (denied_day < end))
            out[row, 6] = np.count_nonzero(denied_day < end)
    return out


def _distinct_count(person: np.ndarray) -> int:
    """How many different people a sorted array holds."""
    return int(person.size and 1 + np.count_nonzero(person[1:] != person[:-1]))


def interest_start(scenario) -> int:
    """The run's day on which the period of interest begins (0: the whole run)."""
    report_from = scenario.run.report_from
    return 0 if report_from is None else (report_from - scenario.run.start_date).days
