"""The calendar: a scenario's dated phases, each resolved into the whole scenario in force.

A phase sets fields by dotted path from its date on; the scenario in force in a phase is the
scenario with every phase up to it applied, validated like any scenario, so a phase that breaks a
rule is refused when the scenario loads. The stages read the scenario in force on each event's,
record's or interval's day; with no timeline there is one phase, the scenario itself, and nothing
changes.

`scenario.loading.resolve` makes the phases. What may change by date is what the stages read by
day: behaviour rates, channels and targeting, cameras and pooling of a region, the points a
record moves a score by, lists, sanctions (their triggers, terms, reach, regions, ticket
purchases), appeals, and the citizens' deterrence and informing. Who the citizens are (regions'
shares, groups, households, incomes, propensities), the score policies' scales (start, bounds,
grades, restoration, contacts), exemptions, attacks (they have their own days), gaming and giving
up, and the run's settings are fixed for a run.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np

from creditsim.scenario.schema import Scenario

# The fields a phase may set, by the first segment of their path (and, where only some fields
# of a table may change, the second or third).
ALLOWED = {
    "behaviours": {"rate_per_year", "age_multipliers", "channels", "points"},
    "channels": None,
    "targeting": None,
    "regions": {"cameras_per_1000", "camera_growth_per_year", "cameras_from", "pooling_share"},
    "sanctions": None,
    "appeals": None,
    "response": {"deterrence", "informing"},
}
ALLOWED_TEXT = (
    "behaviours.NAME.(rate_per_year, age_multipliers, channels, points), channels.*, "
    "targeting.*, policies.SCORE.points, "
    "regions.NAME.(cameras_per_1000, camera_growth_per_year, cameras_from, pooling_share), "
    "the fields of a list policy (policies.LIST.*), sanctions.*, appeals.*, "
    "response.deterrence.*, response.informing.*"
)


@dataclass(frozen=True)
class Phases:
    """The scenario in force in each phase, and the day each begins (the first on day 0)."""

    first_day: tuple[int, ...]
    scenarios: tuple[Scenario, ...]
    start_date: datetime.date

    @property
    def constant(self) -> bool:
        """One phase: the scenario is in force throughout."""
        return len(self.scenarios) == 1

    def of(self, day: np.ndarray) -> np.ndarray:
        """The phase (an index) in force on each day."""
        first = np.asarray(self.first_day, dtype=np.int64)
        return np.searchsorted(first, np.asarray(day, dtype=np.int64), side="right") - 1

    def windows(self) -> list[tuple[int, int | None]]:
        """Each phase's days, [first, next phase's first); the last one open-ended (None)."""
        ends: list[int | None] = [*self.first_day[1:], None]
        return list(zip(self.first_day, ends, strict=True))

    def within(self, days: int) -> Phases:
        """Only the phases that begin before `days` (the run's end): later ones never apply."""
        keep = sum(1 for first in self.first_day if first < days)
        return Phases(self.first_day[:keep], self.scenarios[:keep], self.start_date)


def calendar_dates(start: datetime.date, days: np.ndarray) -> np.ndarray:
    """The calendar date of each day of the run, as numpy datetime64[D]."""
    return np.datetime64(start, "D") + np.asarray(days, dtype="timedelta64[D]")


def year_starts(start: datetime.date, days: int) -> list[tuple[int, int, int]]:
    """Each calendar year the run touches: (year, its first day, the day after its last), in
    days of the run, clipped to the run."""
    out = []
    year = start.year
    while True:
        first = max((datetime.date(year, 1, 1) - start).days, 0)
        end = min((datetime.date(year + 1, 1, 1) - start).days, days)
        if first >= days:
            break
        out.append((year, first, end))
        year += 1
    return out


__all__ = ["ALLOWED", "ALLOWED_TEXT", "Phases", "calendar_dates", "year_starts"]
