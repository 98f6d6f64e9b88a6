"""The public blacklist as its victims see it: one row per published entry (a sanction that
publishes names, a published list), with what the simulator knows beside it: whether the entry
was wrongful and why.

Labels that hold several names (the reasons, the sanctions, the causes) are built once per
distinct combination, not once per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creditsim.channels.records import CAUSES, CORRECT, Records
from creditsim.intervals import Intervals
from creditsim.policies.scores import GradeChanges
from creditsim.population import Population
from creditsim.sanctions import grade_spells
from creditsim.scenario.schema import Scenario


@dataclass
class PublishedEntry:
    """The entries of one published sanction or list, and what can put a citizen there."""

    name: str  # the sanction's name, or "list:NAME"
    intervals: Intervals
    wrongful: np.ndarray  # sorted ids of the citizens listed wrongfully
    kinds: np.ndarray  # the record kinds (behaviours) that trigger it
    grade: tuple[str, int, str] | None = None  # (policy, grade index, grade): a grade trigger


def entries_of(scenario: Scenario, name: str, intervals, wrongful) -> PublishedEntry | None:
    """The published entry of a sanction or list named `name` ("list:X" for a list), or None
    when it publishes nothing."""
    behaviours = [b.name for b in scenario.behaviours]
    lists = {p.name: p for p in scenario.list_policies}
    if name.startswith("list:"):
        policy = lists[name[len("list:") :]]
        if not policy.published:
            return None
        kinds = np.array([behaviours.index(b) for b in policy.entry_behaviours])
        return PublishedEntry(name, intervals, wrongful, kinds)
    sanction = next(s for s in scenario.sanctions if s.name == name)
    if not sanction.publishes_name:
        return None
    trigger = sanction.trigger
    names = set(trigger.record_behaviours)
    for listed in trigger.on_lists:
        names |= set(lists[listed].entry_behaviours)
    kinds = np.array(sorted(behaviours.index(b) for b in names), dtype=np.int64)
    grade = None
    if trigger.grade_at_or_below is not None:
        policy = scenario.score_policy(trigger.policy)
        grade = (policy.name, policy.grade_of(trigger.grade_at_or_below), trigger.grade_at_or_below)
    return PublishedEntry(name, intervals, wrongful, kinds, grade)


def blacklist_columns(
    scenario: Scenario,
    pop: Population,
    first_citizen: int,
    entries: list[PublishedEntry],
    records: Records,
    changes: dict[str, GradeChanges],
    under: np.ndarray,  # bool (citizens, sanctions of kind "sanction"): who was under which
    wronged: np.ndarray,  # bool (citizens, causes): who got a wrongful record of which cause
    days: int,
) -> dict[str, np.ndarray]:
    behaviours = [b.name for b in scenario.behaviours]
    penalties = [s.name for s in scenario.sanctions if s.kind == "sanction"]
    parts: dict[str, list[np.ndarray]] = {
        key: [] for key in ("citizen", "entry", "start_day", "end_day", "reasons", "wrongful")
    }
    person_parts = []
    for entry in entries:
        person = entry.intervals.person.astype(np.int64)
        person_parts.append(person)
        parts["citizen"].append(person + first_citizen)
        parts["entry"].append(np.full(person.shape[0], entry.name, dtype=object))
        parts["start_day"].append(entry.intervals.start.astype(np.int32))
        parts["end_day"].append(entry.intervals.end.astype(np.int32))
        parts["wrongful"].append(np.isin(person, entry.wrongful))
        parts["reasons"].append(_reasons(entry, person, records, changes, behaviours, days))
    person = np.concatenate(person_parts) if person_parts else np.zeros(0, dtype=np.int64)
    if person.size == 0:
        return {}
    columns = {key: np.concatenate(value) for key, value in parts.items()}
    columns["sanctions"] = _joined(under[person], penalties)
    causes = [c for i, c in enumerate(CAUSES) if i != CORRECT]
    wrong_causes = np.delete(wronged[person], CORRECT, axis=1) & columns["wrongful"][:, None]
    columns["wrongful_causes"] = _joined(wrong_causes, causes)
    columns["region"] = pop.region[person]
    columns["group"] = pop.group[person]
    columns["age_band"] = pop.age_band[person]
    columns["income_band"] = pop.income_band[person]
    columns["household"] = pop.head[person].astype(np.int64) + first_citizen
    return columns


def _reasons(entry, person, records, changes, behaviours, days) -> np.ndarray:
    """The kinds of the citizen's records that can trigger the entry, and the grade if the
    citizen fell to it."""
    citizens = np.unique(person)
    flags = np.zeros((citizens.shape[0], len(behaviours) + 1), dtype=bool)
    subject = records.subject
    listed = np.zeros(max(int(subject.max(initial=-1)), int(citizens.max(initial=-1))) + 1, bool)
    listed[citizens] = True
    about = np.flatnonzero(listed[subject])
    about = about[np.isin(records.kind[about], entry.kinds)]
    where = np.searchsorted(citizens, records.subject[about])
    flags[where, records.kind[about]] = True
    names = [*behaviours, ""]
    if entry.grade is not None and entry.grade[0] in changes:  # no system: no grade changes
        policy, index, grade = entry.grade
        spells = grade_spells(changes[policy], lambda g: g >= index, days, 0)
        fell = np.isin(citizens, spells.person)
        flags[fell, -1] = True
        names[-1] = f"grade {grade} ({policy})"
    return _joined(flags[np.searchsorted(citizens, person)], names)


def _joined(flags: np.ndarray, names: list[str]) -> np.ndarray:
    """Each row's names where its flags hold, comma-separated."""
    if flags.shape[0] == 0:
        return np.zeros(0, dtype=object)
    packed = np.packbits(flags, axis=1)
    distinct, inverse = np.unique(packed, axis=0, return_inverse=True)
    unpacked = np.unpackbits(distinct, axis=1, count=flags.shape[1]).astype(bool)
    labels = np.array(
        [", ".join(n for n, on in zip(names, row, strict=True) if on) for row in unpacked],
        dtype=object,
    )
    return labels[inverse.reshape(-1)]
