"""A case file for one synthetic citizen: the story a journalist would tell, with the truth
beside it.

    case = creditsim.case("runs/national", 1234)   # a run directory (or a catalogue id)
    case.to_dict()                                 # everything, as plain JSON-able data
    case.story                                     # the same, in a few sentences

A run's outputs hold one row per citizen, not their events and records, so the case is rebuilt
exactly: the citizen's shard is run again from the run's resolved scenario and seed (a shard's
results depend only on them: `engine/shard.py`), and that citizen's true acts, the records made
about them, their list entries, sanctions, appeals and scores are picked out of the shard's
state. `CaseFile.row` holds the counts the run wrote for them, which the case must match.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from creditsim.errors import CreditsimError

# Why a wrongful record landed on this citizen, in words (`{actor}`: who really did it).
WHY = {
    "face_misidentification": "a camera filmed citizen {actor}, and face identification matched "
    "this citizen's ID photo instead",
    "plate_owner": "a plate reader saw their car; citizen {actor} was driving it",
    "platform_false_positive": "a platform's classifier flagged a post or purchase of theirs "
    "that was not an offence",
    "false_informant_report": "an informant reported something that did not happen",
    "data_merge": "a record of citizen {actor}, who has the same name, was merged into theirs",
    "insider": "an insider changed their record",
    "coordinated_false_report": "a coordinated campaign of false reports against their group",
    "score_swap": "a hack swapped the top and the bottom scores",
}


AGE_WORDS = {"child": "child", "young": "young adult", "adult": "adult", "senior": "senior"}


class CaseError(CreditsimError):
    """A case file cannot be made: no such run or citizen; the message says what exists."""


@dataclass
class CaseFile:
    """One citizen's case: who they are, what they did, what was recorded about them (and who
    really did it), their scores, lists, sanctions and appeals, and the children reached."""

    run: dict[str, Any]
    citizen: dict[str, Any]
    acts: list[dict[str, Any]]
    records: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    lists: list[dict[str, Any]]
    sanctions: list[dict[str, Any]]
    children: list[int]
    counts: dict[str, Any]
    row: dict[str, Any] | None = None  # the row the run wrote (None: not asked for, or not kept)
    story: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def timeline(self) -> list[dict[str, Any]]:
        """Acts, records, list entries and sanctions in one list, by day: what happened and
        what the system made of it, side by side."""
        items = [{"day": a["day"], "what": "act", **a} for a in self.acts]
        items += [{"day": r["day"], "what": "record", **r} for r in self.records]
        for entry in self.lists:
            items.append({"what": "list", **entry, "day": entry["start"]})
        for entry in self.sanctions:
            items.append({"what": "sanction", **entry, "day": entry["start"]})
        order = {"act": 0, "record": 1, "list": 2, "sanction": 3}
        return sorted(items, key=lambda item: (item["day"], order[item["what"]]))


def case(run: str | Path, citizen: int | str, stored_row: bool = False) -> CaseFile:
    """The case file of `citizen` (their id in the run) in the run directory `run` (or a run
    catalogue id). `stored_row`: also read the row the run wrote for them (`CaseFile.row`, to
    set beside `counts`; a second or two at a million citizens). Raises CaseError for a run or
    a citizen that is not there."""
    path = _run_directory(run)
    manifest = _manifest(path)
    citizen_id = _citizen_id(citizen, manifest)
    from creditsim.scenario import Scenario

    scenario = Scenario.model_validate(manifest["scenario"])
    shard, first, size = _shard_of(citizen_id, manifest)
    state = _rerun(scenario, manifest, shard, first, size)
    built = _build(state, scenario, manifest, citizen_id - first)
    built.run["path"] = str(path)
    built.row = _stored_row(path, manifest, citizen_id) if stored_row else None
    built.story = story(built)
    return built


# ---------------------------------------------------------------------------------- the run


def _run_directory(run: str | Path) -> Path:
    text = str(run).strip()
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if text.isdigit():
        from creditsim import catalogue

        try:
            row = catalogue.show_run(text)
        except catalogue.CatalogueError as error:
            raise CaseError(str(error)) from None
        if row.get("kind") != "run" or not row.get("path") or not Path(row["path"]).is_dir():
            raise CaseError(
                f"catalogue entry {text} has no run directory on disk: a case file is rebuilt "
                "from a run's directory"
            )
        return Path(row["path"])
    raise CaseError(
        f"{text}: no such run directory, and not a run id of the catalogue (give the directory "
        "a run was written to with --out, or an id from `creditsim runs list`)"
    )


def _manifest(path: Path) -> dict[str, Any]:
    file = path / "manifest.json"
    if not file.is_file():
        raise CaseError(f"{path}: not a finished run directory (no manifest.json)")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CaseError(f"{file}: cannot be read: {error}") from None
    needed = ("scenario", "seed", "days", "shard_sizes")
    missing = [key for key in needed if key not in manifest]
    if missing:
        raise CaseError(f"{file}: not a run's manifest ({', '.join(missing)} missing)")
    return manifest


def _citizen_id(citizen: int | str, manifest: dict[str, Any]) -> int:
    population = int(sum(manifest["shard_sizes"]))
    text = str(citizen).strip()
    if not text.lstrip("-").isdigit() or not 0 <= int(text) < population:
        raise CaseError(
            f"citizen {text[:40]!r}: no such citizen in this run; its citizens are numbered "
            f"0 to {population - 1:,}"
        )
    return int(text)


def _shard_of(citizen: int, manifest: dict[str, Any]) -> tuple[int, int, int]:
    """(shard, its first citizen, its size) of the shard holding `citizen`."""
    sizes = [int(size) for size in manifest["shard_sizes"]]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    shard = int(np.searchsorted(starts, citizen, side="right") - 1)
    return shard, int(starts[shard]), sizes[shard]


def _rerun(scenario: Any, manifest: dict[str, Any], shard: int, first: int, size: int) -> Any:
    """The shard's state after its whole pipeline, as the run made it (the numpy backend: the
    backends give the same results)."""
    from creditsim.arrays.backend import array_module
    from creditsim.engine.pipeline import PIPELINE
    from creditsim.engine.state import ShardState

    state = ShardState(
        scenario=scenario, size=size, days=int(manifest["days"]), seed=int(manifest["seed"]),
        shard=shard, first_citizen=first, keep_rows=True, xp=array_module("numpy"),
    )  # fmt: skip
    for stage in PIPELINE:
        if stage.enabled(scenario):
            stage.run(state)
    return state


def _stored_row(path: Path, manifest: dict[str, Any], citizen: int) -> dict[str, Any] | None:
    """The row the run wrote for the citizen (None when the run kept no row for them): the
    citizen column is read to find it, then only the row group that holds it."""
    import pyarrow.parquet as pq

    from creditsim.figures.columns import to_numpy

    for name in manifest.get("files", {}).get("citizens", []):
        file = path / name
        if not file.is_file():
            continue
        parquet = pq.ParquetFile(file)
        found = np.flatnonzero(to_numpy(parquet.read(columns=["citizen"]).column(0)) == citizen)
        if not found.size:
            continue
        index = int(found[0])
        for group in range(parquet.num_row_groups):
            rows = parquet.metadata.row_group(group).num_rows
            if index < rows:
                return _plain(parquet.read_row_group(group).slice(index, 1).to_pylist()[0])
            index -= rows
    return None


# ------------------------------------------------------------------------------ the citizen


def _build(state: Any, scenario: Any, manifest: dict[str, Any], i: int) -> CaseFile:
    from creditsim.scenario.schema import AGE_BANDS, INCOME_BANDS

    pop, first = state.pop, state.first_citizen
    identity = {
        "id": first + i,
        "household": int(pop.head[i]) + first,
        "region": scenario.regions[int(pop.region[i])].name,
        "group": scenario.groups[int(pop.group[i])].name,
        "age_band": AGE_BANDS[int(pop.age_band[i])],
        "income_band": INCOME_BANDS[int(pop.income_band[i])],
        "urban": bool(pop.urban[i]),
        "children": int(pop.children[i]),
        "exempt": bool(state.exempt[i]),
    }
    acts = _acts(state, scenario, i)
    records = _records(state, scenario, i)
    sanctions = _sanctions(state, scenario, i)
    lists = _lists(state, scenario, i)
    children = _children(state, i)
    built = CaseFile(
        run={
            "scenario": scenario.name,
            "seed": int(manifest["seed"]),
            "days": int(manifest["days"]),
            "population": int(sum(manifest["shard_sizes"])),
            "scenario_hash": manifest.get("scenario_hash"),
        },
        citizen=identity,
        acts=acts,
        records=records,
        scores=_scores(state, i),
        lists=lists,
        sanctions=sanctions,
        children=children,
        counts={},
    )
    built.counts = _counts(built, scenario)
    return built


def _acts(state: Any, scenario: Any, i: int) -> list[dict[str, Any]]:
    """The citizen's true acts, and the records the system made of each (a record of an event
    carries the event's identity below its channel's bits): against them, against someone else
    (their act blamed on another), or none."""
    from creditsim.scenario.schema import CHANNELS

    events, records, first = state.events, state.records, state.first_citizen
    own = np.flatnonzero(events.person == i)
    theirs = np.flatnonzero(records.actor == i)
    event_of = records.id[theirs] & np.uint64((1 << 56) - 1)
    identity = events.identity()
    out = []
    for e in own[np.argsort(events.day[own], kind="stable")]:
        behaviour = scenario.behaviours[int(events.behaviour[e])]
        made = theirs[event_of == identity[e]]
        made = made[records.kind[made] == events.behaviour[e]]
        out.append(
            {
                "day": int(events.day[e]),
                "behaviour": behaviour.name,
                "category": behaviour.category,
                "offence": bool(behaviour.offence),
                "recorded": [
                    {
                        "channel": CHANNELS[int(records.channel[r])],
                        "against": int(records.subject[r]) + first,
                        "day": int(records.day[r]),
                    }
                    for r in made
                ],
                "recorded_against_others": sorted(
                    {int(records.subject[r]) + first for r in made if records.subject[r] != i}
                ),
            }
        )
    return out


def _kind_name(scenario: Any, kind: int) -> str:
    behaviours = scenario.behaviours
    if kind < len(behaviours):
        return behaviours[kind].name
    return "informed on someone" if kind == len(behaviours) else "insider's change"


def _records(state: Any, scenario: Any, i: int) -> list[dict[str, Any]]:
    """Every record made about the citizen, with the truth beside it."""
    from creditsim.channels.records import CAUSES, NO_ACTOR
    from creditsim.scenario.schema import CHANNELS

    records, first = state.records, state.first_citizen
    about = np.flatnonzero(records.subject == i)
    out = []
    for r in about[np.argsort(records.day[about], kind="stable")]:
        cause = CAUSES[int(records.cause[r])]
        actor = int(records.actor[r])
        kind = int(records.kind[r])
        wrongful = actor != i
        category = scenario.behaviours[kind].category if kind < len(scenario.behaviours) else ""
        who = None if actor == NO_ACTOR else actor + first
        out.append(
            {
                "day": int(records.day[r]),
                "kind": _kind_name(scenario, kind),
                "category": category,
                "channel": CHANNELS[int(records.channel[r])],
                "wrongful": bool(wrongful),
                "cause": cause,
                "actor": who,
                "truth": _truth(cause, who, wrongful),
            }
        )
    return out


def _truth(cause: str, actor: int | None, wrongful: bool) -> str:
    if not wrongful:
        return "they did it"
    who = "nobody: the record was made up" if actor is None else f"citizen {actor}"
    why = WHY.get(cause, cause.replace("_", " ")).format(actor=actor if actor is not None else "?")
    return f"{why} (who really did it: {who})"


def _spells(intervals: Any, i: int, days: int) -> list[tuple[int, int, int]]:
    """(index, start, end) of the citizen's intervals, by start; end None past the run."""
    index = np.flatnonzero(intervals.person == i)
    return [
        (int(k), int(intervals.start[k]), int(intervals.end[k]))
        for k in index[np.argsort(intervals.start[index], kind="stable")]
    ]


def _appeal(outcome: Any, k: int) -> dict[str, bool]:
    return {
        "filed": bool(outcome.filed[k]),
        "upheld": bool(outcome.upheld[k]),
        "ruled_insincere": bool(outcome.insincere[k]),
        "lifted": bool(outcome.lifted[k]),
    }


def _sanctions(state: Any, scenario: Any, i: int) -> list[dict[str, Any]]:
    days, out = state.days, []
    for sanction in scenario.sanctions:
        appealed = state.sanction_appeals[sanction.name]
        outcome = appealed.outcome
        wrongful = bool(np.isin(i, appealed.wrongful))
        deserved = bool((state.sanctioned.deserved[sanction.name].person == i).any())
        person, day = state.denied.get(sanction.name, (np.zeros(0), np.zeros(0)))
        denied = sorted(int(d) for d in np.asarray(day)[np.asarray(person) == i])
        reaches = sanction.reach in ("children", "household")
        for k, start, end in _spells(outcome.intervals, i, days):
            out.append(
                {
                    "sanction": sanction.name,
                    "kind": sanction.kind,
                    "reach": sanction.reach,
                    "start": start,
                    "end": end if end < days else None,
                    "days": min(end, days) - start,
                    "wrongful": wrongful,
                    "deserved": deserved,
                    "appeal": _appeal(outcome, k),
                    "denied_purchases": [d for d in denied if start <= d < end],
                    "children_reached": int(state.pop.children[i]) if reaches else 0,
                }
            )
    return out


def _lists(state: Any, scenario: Any, i: int) -> list[dict[str, Any]]:
    days, out = state.days, []
    for policy in scenario.list_policies:
        appealed = state.list_appeals.get(policy.name)
        if appealed is None:
            continue
        wrongful = bool(np.isin(i, appealed.wrongful))
        deserved = bool((state.listed.deserved[policy.name].person == i).any())
        for k, start, end in _spells(appealed.outcome.intervals, i, days):
            out.append(
                {
                    "list": policy.name,
                    "start": start,
                    "end": end if end < days else None,
                    "days": min(end, days) - start,
                    "wrongful": wrongful,
                    "deserved": deserved,
                    "appeal": _appeal(appealed.outcome, k),
                }
            )
    return out


def _scores(state: Any, i: int) -> list[dict[str, Any]]:
    """Each score policy: the start, every change of grade (exact, from the run's ledger), the
    score after each day with records that move it (replayed from the citizen's own records),
    and the final score and grade."""
    from creditsim.policies.scores import grade_of, run_ledger

    out = []
    records = state.records
    for rule in state.score_rules:
        policy = rule.policy
        ledger = state.ledgers.get(policy.name)
        changes = state.grade_changes.recorded.get(policy.name)
        names = [band.grade for band in policy.grades]
        single = dataclasses.replace(rule, start=rule.start[i : i + 1], network=None)
        day, subject, kind = rule.records(
            records.day, records.subject, records.kind, records.channel
        )
        mine = subject == i
        day, kind = day[mine], kind[mine]
        steps = []
        for moment in sorted({int(d) for d in day}):
            upto = day <= moment
            replay = run_ledger(
                single, day[upto], np.zeros(int(upto.sum()), np.int32), kind[upto], moment + 1
            )
            steps.append({"day": moment, "score": int(replay.score[0])})
        final = int(ledger.score[i]) if ledger is not None else int(rule.start[i])
        grade = (
            int(ledger.grade[i])
            if ledger is not None
            else int(grade_of(policy, rule.start[i : i + 1])[0])  # no system: the start's
        )
        out.append(
            {
                "policy": policy.name,
                "type": policy.type,
                "start": int(rule.start[i]),
                "steps": steps,
                "final": final,
                "final_grade": names[grade],
                "grade_changes": _grade_changes(changes, i, names),
                "replay_exact": (steps[-1]["score"] if steps else int(rule.start[i])) == final,
            }
        )
    return out


def _grade_changes(changes: Any, i: int, names: list[str]) -> list[dict[str, Any]]:
    if changes is None:
        return []
    index = np.flatnonzero(changes.person == i)
    return [
        {
            "day": int(changes.day[k]),
            "from": names[int(changes.before[k])],
            "to": names[int(changes.after[k])],
        }
        for k in index
    ]


def _children(state: Any, i: int) -> list[int]:
    """The children living in the citizen's household (their ids), none for a child."""
    from creditsim.scenario.schema import AGE_BANDS

    pop = state.pop
    if AGE_BANDS[int(pop.age_band[i])] == "child":
        return []
    child = AGE_BANDS.index("child")
    home = np.flatnonzero((pop.household == pop.household[i]) & (pop.age_band == child))
    return [int(k) + state.first_citizen for k in home]


def _counts(built: CaseFile, scenario: Any) -> dict[str, Any]:
    """The counts the run's citizen row holds, from the case's own events and records."""
    offences = sum(1 for act in built.acts if act["offence"])
    # As the row counts them: `records` are those of acts (a category), beside them the reports
    # this citizen made as an informant; `wrongful_records` are all that are not theirs.
    counts: dict[str, Any] = {
        "true_events": len(built.acts),
        "true_offences": offences,
        "records": sum(1 for r in built.records if r["category"]),
        "reports_made": sum(1 for r in built.records if r["kind"] == "informed on someone"),
        "wrongful_records": sum(1 for r in built.records if r["wrongful"]),
    }
    for category in sorted({b.category for b in scenario.behaviours}):
        counts[f"true_{category}"] = sum(1 for a in built.acts if a["category"] == category)
        counts[f"recorded_{category}"] = sum(1 for r in built.records if r["category"] == category)
    for sanction in scenario.sanctions:
        spells = [s for s in built.sanctions if s["sanction"] == sanction.name]
        counts[f"days_{sanction.name}"] = sum(s["days"] for s in spells)
        counts[f"wrongful_{sanction.name}"] = any(s["wrongful"] for s in spells)
        counts[f"children_affected_{sanction.name}"] = max(
            (s["children_reached"] for s in spells), default=0
        )
        if sanction.purchases is not None:
            counts[f"denied_{sanction.name}"] = sum(len(s["denied_purchases"]) for s in spells)
    penalties = [s for s in built.sanctions if s["kind"] == "sanction"]
    counts["any_sanction"] = bool(penalties)
    counts["any_wrongful"] = any(s["wrongful"] for s in penalties)
    for policy in scenario.list_policies:
        spells = [s for s in built.lists if s["list"] == policy.name]
        counts[f"days_listed_{policy.name}"] = sum(s["days"] for s in spells)
    for score in built.scores:
        counts[f"score_{score['policy']}"] = score["final"]
        counts[f"grade_{score['policy']}"] = score["final_grade"]
    return counts


# ---------------------------------------------------------------------------------- the story


def story(built: CaseFile) -> list[str]:
    """The case in a few sentences, the truth beside what the system believed."""
    who = built.citizen
    counts = built.counts
    lines = [
        f"Citizen {who['id']} is a synthetic {AGE_WORDS.get(who['age_band'], who['age_band'])} "
        f"of the {who['group']} group in "
        f"the {who['region']} region ({who['income_band']} income), "
        + (
            f"in household {who['household']}."
            if who["age_band"] == "child"
            else f"living with {_count(who['children'], 'child', 'children', 'no')}."
        ),
        f"Over {built.run['days']:,} days they committed "
        f"{_count(counts['true_events'], 'act', 'acts')} the system cares about "
        f"({counts['true_offences']} of them offences); the system holds "
        f"{_count(counts['records'], 'record', 'records', 'no')} about them"
        + (f", {counts['wrongful_records']} of them wrongful." if counts["records"] else "."),
    ]
    wrong = [r for r in built.records if r["wrongful"]]
    for record in wrong[:3]:
        lines.append(
            f"On day {record['day']} a record of “{record['kind'].replace('_', ' ')}” was made "
            f"against them by the {record['channel']} channel: {record['truth']}."
        )
    blamed = [a for a in built.acts if a["recorded_against_others"]]
    if blamed:
        others = ", ".join(str(o) for o in blamed[0]["recorded_against_others"])
        lines.append(
            f"One of their own acts ({blamed[0]['behaviour'].replace('_', ' ')}, day "
            f"{blamed[0]['day']}) was recorded against someone else: citizen {others}."
        )
    lines += _sanction_lines(built)
    for score in built.scores:
        moved = (
            f"went from {score['start']:,} to {score['final']:,}"
            if score["start"] != score["final"]
            else f"stayed at {score['final']:,}"
        )
        lines.append(f"Their {score['policy']} score {moved} (grade {score['final_grade']}).")
    return lines


def _count(number: int, one: str, many: str, zero: str = "0") -> str:
    """1 record, 2 records, no children."""
    if number == 0:
        return f"{zero} {many}"
    return f"{number:,} {one if number == 1 else many}"


def _sanction_lines(built: CaseFile) -> list[str]:
    sanctions = [s for s in built.sanctions if s["kind"] == "sanction"]
    if not sanctions:
        return ["They were never under a sanction."]
    lines = []
    for entry in sanctions[:4]:
        end = "to the end of the run" if entry["end"] is None else f"to day {entry['end']}"
        truth = (
            "wrongfully: their own correct records would not have triggered it"
            if entry["wrongful"]
            else "their own records justify it"
        )
        appeal = entry["appeal"]
        appealed = (
            " They appealed and it was lifted."
            if appeal["lifted"]
            else " They appealed; the apology was ruled insincere."
            if appeal["ruled_insincere"]
            else " They appealed and lost."
            if appeal["filed"]
            else ""
        )
        reached = (
            f" It reached {entry['children_reached']} "
            f"{'child' if entry['children_reached'] == 1 else 'children'}."
            if entry["children_reached"]
            else ""
        )
        lines.append(
            f"{entry['sanction'].replace('_', ' ').capitalize()} from day {entry['start']} {end} "
            f"({entry['days']} days); {truth}.{appealed}{reached}"
        )
    return lines


def _plain(value: Any) -> Any:
    """Numpy scalars and tuples as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = ["CaseError", "CaseFile", "case", "story"]
