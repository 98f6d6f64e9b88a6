"""The audit by calendar year, and for the period of interest, from the yearly tallies.

Counts are in the simulated population (not scaled): a year's `people` were under the sanction
(or on the list) at some time in that year, `at_end` on its last day, `people_to_date` at some
time from the run's start to the year's end (cumulative, as many published figures count);
`started` counts the spells that began in it; `denied_purchases` the purchases denied in it,
`denied_to_date` those from the run's start. The years before
`run.report_from` are history: run so that the stocks of the period of interest come from the
dynamics, and reported apart (`history: true`).
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np

from creditsim.engine.shard import horizon_days
from creditsim.engine.tables.outcomes import YEARLY, interest_start
from creditsim.scenario.schema import Scenario
from creditsim.scenario.timeline import year_starts

CONVENTION = (
    "counts in the simulated population, not scaled; people: under it at some time in the "
    "year; at_end: under it on the year's last day; people_to_date: at some time from the "
    "run's start to the year's end; started: spells begun in the year; "
    "history: a year before the period of interest (run.report_from)"
)


def by_year(scenario: Scenario, tallies: dict[str, np.ndarray]) -> dict[str, Any]:
    """{year: {first, last, days, history, sanctions: {name: counts}, lists: {...}}}."""
    days = horizon_days(scenario.run.years)
    start, interest = scenario.run.start_date, interest_start(scenario)
    out: dict[str, Any] = {}
    for row, (year, first, end) in enumerate(year_starts(start, days)):
        out[str(year)] = {
            "first": str(start + datetime.timedelta(days=first)),
            "last": str(start + datetime.timedelta(days=end - 1)),
            "days": end - first,
            "history": end <= interest,
            **_counts(scenario, tallies, row),
        }
    return out


def period_of_interest(scenario: Scenario, tallies: dict[str, np.ndarray]) -> dict[str, Any]:
    """The same counts over the period of interest, from `run.report_from` to the run's end."""
    days = horizon_days(scenario.run.years)
    start, first = scenario.run.start_date, interest_start(scenario)
    rows = len(year_starts(start, days))
    return {
        "first": str(start + datetime.timedelta(days=first)),
        "last": str(start + datetime.timedelta(days=days - 1)),
        "days": days - first,
        **_counts(scenario, tallies, rows),
    }


def _counts(scenario: Scenario, tallies: dict[str, np.ndarray], row: int) -> dict[str, Any]:
    def entry(key: str, fields: tuple[str, ...]) -> dict[str, int]:
        table = tallies.get(key)
        if table is None:
            return {}
        values = np.asarray(table).reshape(-1, len(YEARLY))[row]
        return {f: int(values[YEARLY.index(f)]) for f in fields}

    sanctions = {}
    for sanction in scenario.sanctions:
        fields = YEARLY if sanction.purchases is not None else YEARLY[:-2]
        sanctions[sanction.name] = entry(f"{sanction.name}:by_year", fields)
    lists = {p.name: entry(f"list:{p.name}:by_year", YEARLY[:-2]) for p in scenario.list_policies}
    return {"sanctions": sanctions, "lists": lists}


__all__ = ["CONVENTION", "by_year", "period_of_interest"]
