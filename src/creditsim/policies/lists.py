"""Lists, such as the courts' dishonest judgment debtors: a record of an entry behaviour puts its
subject on the list, for a fixed term, until the debt is paid, or until an appeal succeeds.

Entries are (person, start, end) intervals, merged per person. The time to pay is a draw keyed by
the citizen in the list's own stream, so every entry of a citizen, in the recorded, the
own-records and the perfect-information lists alike, has the same (common random numbers).
"""

from __future__ import annotations

import numpy as np

from creditsim.arrays.streams import Keyed, keyed
from creditsim.intervals import Intervals, no_intervals, union
from creditsim.scenario.schema import INCOME_BANDS, ListPolicy, Scenario
from creditsim.scenario.timeline import Phases

NEVER = 1 << 30  # the end of an entry that nothing removes


class ListRule:
    """One list made concrete for a shard's citizens."""

    def __init__(
        self, scenario: Scenario, policy: ListPolicy, income_band: np.ndarray, seed: int, shard: int
    ) -> None:
        self.policy = policy
        names = [b.name for b in scenario.behaviours]
        self.kinds = np.array([names.index(n) for n in policy.entry_behaviours])
        self.income_band = income_band
        self.payments: tuple[np.ndarray, Keyed] | None = None
        if "payment" in policy.removal:
            rate = np.array([policy.payments_per_year.get(b, 0.0) for b in INCOME_BANDS])
            self.payments = rate, keyed(seed, shard, f"list:{policy.name}:payment")

    def days_to_pay(self, person: np.ndarray) -> np.ndarray:
        """How long each of `person` takes to pay (int64 days; NEVER where they never do).
        Each citizen's time is drawn keyed by the citizen: the same whoever else is listed, so
        it is drawn only for those a list takes in."""
        rate, draws = self.payments
        per_citizen = rate[self.income_band[person]]
        wait = draws.exponential(person.astype(np.uint64))
        with np.errstate(divide="ignore"):
            days = np.where(per_citizen > 0, np.ceil(wait / per_citizen * 365.0), NEVER)
        return np.minimum(days, NEVER).astype(np.int64)

    def entries(self, day: np.ndarray, subject: np.ndarray, kind: np.ndarray) -> Intervals:
        """The list's intervals from a record (or true event) stream."""
        if not self.policy.in_force:
            return no_intervals()
        hit = np.flatnonzero(np.isin(kind, self.kinds))
        person = subject[hit].astype(np.int32)
        start = day[hit].astype(np.int64)
        end = np.full(start.shape[0], NEVER, dtype=np.int64)
        if "time" in self.policy.removal:
            end = np.minimum(end, start + self.policy.term_days)
        if self.payments is not None:
            end = np.minimum(end, start + self.days_to_pay(person))
        return union([Intervals(person, start.astype(np.int32), end.astype(np.int32))])


class PhasedList:
    """A list under a timeline: a record puts its subject on the list by the rules in force on
    the record's day (none while the list is not in force), for that phase's term."""

    def __init__(
        self, phases: Phases, name: str, income_band: np.ndarray, seed: int, shard: int
    ) -> None:
        rules: list[ListRule] = []
        for scenario in phases.scenarios:
            policy = next(p for p in scenario.list_policies if p.name == name)
            same = rules and rules[-1].policy == policy
            rules.append(
                rules[-1] if same else ListRule(scenario, policy, income_band, seed, shard)
            )
        self.rules = rules
        self.windows = phases.windows()
        self.policy = rules[0].policy  # the list as the scenario starts: its name and removal

    def entries(self, day: np.ndarray, subject: np.ndarray, kind: np.ndarray) -> Intervals:
        """The list's intervals from a record (or true event) stream."""
        if len(self.rules) == 1:
            return self.rules[0].entries(day, subject, kind)
        parts = []
        for rule, (first, end) in zip(self.rules, self.windows, strict=True):
            if not rule.policy.in_force:
                continue
            inside = (day >= first) if end is None else (day >= first) & (day < end)
            index = np.flatnonzero(inside)
            parts.append(rule.entries(day[index], subject[index], kind[index]))
        return union(parts)
