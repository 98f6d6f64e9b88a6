"""A shard's state: everything its stages read and write, in one place.

Arrays throughout (one element per citizen, event, record or interval), never an object per
citizen. The inputs are set when the shard starts; every other field is set by the stage that
writes it (`engine/pipeline.py` says which), and reading one before then is an AttributeError.
A few fields start at what they are without a system (no records, no scores, no sanctions), so
that the stages after a disabled one read "nothing happened".

The audit compares three worlds, and the state keeps each quantity of them as one `Worlds`:
what was recorded, what the citizens' own correct records give, and what perfect information
(the true events) gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from creditsim.behaviours import Events
from creditsim.channels.records import Records, Selected
from creditsim.intervals import Intervals, no_intervals
from creditsim.policies.lists import PhasedList
from creditsim.policies.scores import GradeChanges, Ledger, ScoreRule
from creditsim.population import Population
from creditsim.sanctions import AppealOutcome
from creditsim.scenario.schema import Scenario
from creditsim.scenario.timeline import Phases

if TYPE_CHECKING:
    from creditsim.engine.tables.tables import Tables

T = TypeVar("T")


@dataclass
class Worlds(Generic[T]):
    """One quantity in the audit's three worlds."""

    recorded: T  # from the records the system holds, errors and attacks included
    own: T  # from the citizens' own, correctly attributed records only
    deserved: T  # from the true events: what perfect information would give

    def each(self) -> tuple[T, T, T]:
        """The three, in the order recorded, own, deserved."""
        return self.recorded, self.own, self.deserved


@dataclass
class Appealed:
    """A sanction's or a list's intervals after appeals, and who was under it wrongfully."""

    outcome: AppealOutcome
    wrongful: np.ndarray  # sorted citizen ids


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


def _nothing(names: list[str]) -> dict[str, Intervals]:
    return {name: no_intervals() for name in names}


@dataclass(repr=False, eq=False)
class ShardState:
    # --- inputs -----------------------------------------------------------------------------
    scenario: Scenario
    size: int  # citizens in the shard
    days: int
    seed: int
    shard: int
    first_citizen: int  # the global id of the shard's first citizen
    keep_rows: bool  # whether the citizen rows are wanted (else only aggregates)
    xp: ModuleType  # the array backend of population, behaviours, response and channels

    # --- written by the stages, in pipeline order ---------------------------------------------
    phases: Phases = field(init=False)  # the scenario in force in each phase of the calendar
    pop: Population = field(init=False)
    # All true events, grouped by behaviour; once deterrence has acted, those that happen.
    events: Events = field(init=False)
    gamed: Any = field(init=False)  # bool per drawn event: an act done only for the points
    without_system: np.ndarray = field(init=False)  # events per (behaviour, group), no system
    keep: Any = field(init=False)  # bool per drawn event: not deterred (None: none deterred)
    candidates: Events | None = field(init=False)  # every drawn event, kept for giving up
    deterred_at: Any = field(init=False)  # indexes of the deterred events in `candidates`
    records: Records = field(init=False)
    cells: np.ndarray = field(init=False)  # (region, group) cell of each citizen
    exempt: np.ndarray = field(init=False)  # bool per citizen
    score_rules: list[ScoreRule] = field(init=False)
    list_rules: list[PhasedList] = field(init=False)
    # records, own records (taken as read), true events
    evidence: Worlds[Records | Selected | Events] = field(init=False)
    ledgers: dict[str, Ledger] = field(init=False)  # per score policy (none: no system)
    grade_changes: Worlds[dict[str, GradeChanges]] = field(init=False)
    listed: Worlds[dict[str, Intervals]] = field(init=False)  # per list
    list_appeals: dict[str, Appealed] = field(init=False)
    sanctioned: Worlds[dict[str, Intervals]] = field(init=False)  # per sanction
    sanction_appeals: dict[str, Appealed] = field(init=False)
    denied: dict[str, tuple[np.ndarray, np.ndarray]] = field(init=False)  # (person, day) each
    tables: Tables = field(init=False)  # the outputs being built
    result: ShardResult = field(init=False)

    def __post_init__(self) -> None:
        """What the stages after a disabled one read: no deterrence, no records, no scores,
        nobody listed or sanctioned."""
        scenario = self.scenario
        self.candidates = None
        self.keep = None
        self.deterred_at = np.zeros(0, dtype=np.int64)
        self.records = Records.empty()
        self.ledgers = {}
        self.grade_changes = Worlds({}, {}, {})
        lists = [p.name for p in scenario.list_policies]
        self.listed = Worlds(_nothing(lists), _nothing(lists), _nothing(lists))
        sanctions = [s.name for s in scenario.sanctions]
        nobody = _nothing(sanctions)
        self.sanctioned = Worlds(nobody, nobody, nobody)

    @property
    def cell_count(self) -> int:
        return len(self.scenario.regions) * len(self.scenario.groups)

    @property
    def period(self) -> int:
        """Days in a period of the time series."""
        return self.scenario.run.timeseries_every_days


INPUTS = tuple(f.name for f in fields(ShardState) if f.init)

__all__ = ["INPUTS", "Appealed", "ShardResult", "ShardState", "Worlds"]
