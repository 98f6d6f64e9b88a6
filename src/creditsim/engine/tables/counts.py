"""Who the citizens are, and what they did and had recorded: the identity columns, events and
records per citizen, per period and cell, and per stratum."""

from __future__ import annotations

import numpy as np

from creditsim.channels.records import CAUSES, CORRECT, NO_ACTOR, SCORE_SWAP, Records
from creditsim.engine.stage import stage
from creditsim.engine.state import ShardState
from creditsim.engine.tables.tables import Tables, count_all, count_where
from creditsim.scenario.schema import Scenario


def categories(scenario: Scenario) -> tuple[list[str], np.ndarray]:
    """The behaviours' categories (sorted), and the category of each record kind: the
    behaviours', then one more for "informed" and an insider's change (no category)."""
    names = sorted({b.category for b in scenario.behaviours})
    category_of = [names.index(b.category) for b in scenario.behaviours] + [len(names)] * 2
    return names, np.array(category_of)


def _offence(scenario: Scenario) -> np.ndarray:
    """Whether each behaviour is an offence."""
    return np.array([b.offence for b in scenario.behaviours], dtype=bool)


@stage(
    "counts",
    reads=(
        "scenario", "pop", "events", "records", "exempt", "cells", "ledgers", "first_citizen",
        "keep_rows", "days",
    ),
    writes=("tables",),
    tallies=(
        "citizens", "true_events", "true_offences", "offenders", "records", "wrongful_records",
        "exempt_citizens", "records_by_cause", "fabricated_records", "events_by_behaviour",
        "records_by_behaviour",
    ),
)  # fmt: skip
def counts(state: ShardState) -> None:
    """The citizens' columns and their events and records, counted per citizen, per period and
    cell (the time series) and per stratum (the tallies)."""
    tables = Tables.start(state)
    tables.col.update(_identity(state))
    tables.col.update(_per_citizen(state))
    wrong = _wronged(state, tables)
    _by_period_and_stratum(state, tables, wrong)
    state.tables = tables


def _identity(state: ShardState) -> dict[str, np.ndarray]:
    pop, first = state.pop, state.first_citizen
    return {
        "citizen": np.arange(first, first + pop.size, dtype=np.int64),
        # A household is named by its head's citizen id: unique across shards.
        "household": pop.head.astype(np.int64) + first,
        "region": pop.region,
        "group": pop.group,
        "age_band": pop.age_band,
        "income_band": pop.income_band,
        "urban": pop.urban,
        "children": pop.children,
        "exempt": state.exempt,
    }


def _per_citizen(state: ShardState) -> dict[str, np.ndarray]:
    """Events and records per citizen; only the offences where the rows are not kept."""
    scenario, events, n = state.scenario, state.events, state.pop.size
    names, category_of = categories(scenario)
    kinds = len(scenario.behaviours)
    behaviour_category, offences_of = category_of[:kinds], _offence(scenario)

    def persons(chosen: np.ndarray) -> np.ndarray:
        """The actors of the events of the behaviours where `chosen` holds."""
        return events.sliced(events.person, chosen)

    if not state.keep_rows:
        return {"true_offences": count_all(persons(offences_of), n)}
    col: dict[str, np.ndarray] = {}
    # Events are counted once per (category, offence or not): the categories' counts and the
    # offences' are sums of these.
    offending = []
    for c, name in enumerate(names):
        parts = []
        for flag in (False, True):
            chosen = (behaviour_category == c) & (offences_of == flag)
            if chosen.any():
                parts.append(count_all(persons(chosen), n))
                if flag:
                    offending.append(parts[-1])
        col[f"true_{name}"] = parts[0] if len(parts) == 1 else parts[0] + parts[1]
    true_offences = _sum_counts(offending, n)
    col.update(_records_per_citizen(state, names, category_of))
    col["true_offences"] = true_offences
    return col


def _records_per_citizen(state: ShardState, names, category_of) -> dict[str, np.ndarray]:
    records, n = state.records, state.pop.size
    record_category = category_of[records.kind]
    recorded = [count_all(records.subject[record_category == c], n) for c in range(len(names))]
    col = {f"recorded_{name}": counts for name, counts in zip(names, recorded, strict=True)}
    col["records"] = _sum_counts(recorded, n)  # every behaviour has a category
    col["wrongful_records"] = count_all(records.subject[records.actor != records.subject], n)
    kinds = len(state.scenario.behaviours)
    col["reports_made"] = count_all(records.subject[records.kind == kinds], n)
    return col


def _sum_counts(counts: list[np.ndarray], n: int) -> np.ndarray:
    if not counts:
        return np.zeros(n, dtype=np.int32)
    total = counts[0].copy()
    for more in counts[1:]:
        total += more
    return total


def _wronged(state: ShardState, tables: Tables) -> np.ndarray:
    """Who got a wrongful record of each cause (face, plate, ...), a score swap included;
    returns where the wrongful records are."""
    records = state.records
    wrong = np.flatnonzero(records.cause != CORRECT)
    tables.wronged[records.subject[wrong], records.cause[wrong]] = True
    primary = state.ledgers.get(state.scenario.policy.name)
    if primary is not None:
        tables.wronged[primary.swapped_down, SCORE_SWAP] = True
    return wrong


def _by_cause(records: Records, wrong: np.ndarray) -> np.ndarray:
    """Records per cause, from where the wrongful ones are (the correct are the others)."""
    counts = np.bincount(records.cause[wrong], minlength=len(CAUSES))
    counts[CORRECT] = records.size - wrong.shape[0]
    return counts


def _by_period_and_stratum(state: ShardState, tables: Tables, wrong: np.ndarray) -> None:
    """Events (offences or not) and records (wrongful or not) counted once, by period and
    stratum: the time series (by cell) and the tallies (by stratum) are sums of these."""
    scenario, events, records = state.scenario, state.events, state.records
    strata, sc = tables.strata, tables.strata_count
    bounds = events.bounds(len(scenario.behaviours))
    offences = np.repeat(_offence(scenario), np.diff(bounds))
    wrongful = records.actor != records.subject
    events_by = tables.by_period_and_stratum(events.day, events.person, offences)
    records_by = tables.by_period_and_stratum(records.day, records.subject, wrongful)
    tables.ts.update(
        events=tables.by_cell(events_by.sum(axis=0)),
        offences=tables.by_cell(events_by[1]),
        records=tables.by_cell(records_by.sum(axis=0)),
        wrongful_records=tables.by_cell(records_by[1]),
    )
    tables.tallies.update(
        citizens=np.bincount(strata, minlength=sc),
        true_events=events_by.sum(axis=(0, 1)),
        true_offences=events_by[1].sum(axis=0),
        offenders=count_where(strata, tables.col["true_offences"] > 0, sc),
        records=records_by.sum(axis=(0, 1)),
        wrongful_records=records_by[1].sum(axis=0),
        exempt_citizens=count_where(strata, state.exempt, sc),
        records_by_cause=_by_cause(records, wrong),
        fabricated_records=np.array([int((records.actor == NO_ACTOR).sum())]),
        events_by_behaviour=np.diff(bounds),
        records_by_behaviour=np.bincount(records.kind, minlength=len(scenario.behaviours) + 2),
    )
