"""The runner: resolves run settings, runs the shards, writes the run directory and the audit."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from creditsim.arrays.backend import array_module
from creditsim.audit.disparity import build_audit
from creditsim.engine.cluster import dask_client, map_unordered
from creditsim.engine.combine import Totals, shard_sizes, timeseries_columns
from creditsim.engine.memory import keep_freed_memory, paused_collector
from creditsim.engine.pipeline import PIPELINE
from creditsim.engine.rundir import (
    PLAN,
    describe,
    in_the_way,
    planned_files,
    previous_files,
    read_plan,
    remove_files,
    remove_partial_writes,
)
from creditsim.engine.shard import horizon_days
from creditsim.engine.tasks import (
    ShardPlan,
    ShardSummary,
    load_summary,
    run_shard_task,
    summary_file,
)
from creditsim.errors import OutputError
from creditsim.outputs import to_table, write_json, write_parquet
from creditsim.scenario import Scenario, ScenarioError, load_scenario, scenario_hash
from creditsim.version import __version__

STAGES = tuple(stage.name for stage in PIPELINE)  # progress steps: one per stage
BLACKLIST_COLUMNS = ("citizen", "entry", "start_day", "end_day", "reasons", "wrongful",
                     "sanctions", "wrongful_causes", "region", "group", "age_band", "income_band",
                     "household")  # fmt: skip


@dataclass
class RunResult:
    """A finished run: its scenario, tables and audit; `path` is set when it was written."""

    scenario: Scenario
    manifest: dict[str, Any]
    citizens_table: pa.Table | None  # None when the rows were written to `path` instead
    timeseries_table: pa.Table
    audit_data: dict[str, Any]
    path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    blacklist_table: pa.Table | None = None  # None when it was written to `path` instead
    catalogue_id: int | None = None  # its id in the run catalogue, when it was recorded

    def audit(self) -> dict[str, Any]:
        return self.audit_data

    def summary(self) -> dict[str, Any]:
        """Headline numbers: a flat mapping, one line each in the CLI's table."""
        overall = self.audit_data["overall"]
        out: dict[str, Any] = {
            "scenario": self.scenario.name,
            "citizens": overall["citizens"],
            "days": self.manifest["days"],
            "true events": overall["true_events"],
            "records": overall["records"],
            "wrongful records": overall["wrongful_records"],
        }
        for name, entry in overall.get("sanctions", {}).items():
            label = "any sanction" if name == "any" else name
            out[f"{label}: citizens (wrongfully)"] = (
                f"{entry['sanctioned']:,} ({entry['wrongful']:,})"
            )
            if "denied_purchases" in entry:
                out[f"{label}: denied purchases (at 1.4 billion)"] = (
                    f"{entry['denied_purchases']:,} ({entry['denied_purchases_at_1_4_billion']:,})"
                )
        for name, entry in overall.get("lists", {}).items():
            out[f"list {name}: citizens (wrongfully)"] = (
                f"{entry['sanctioned']:,} ({entry['wrongful']:,})"
            )
        for name, entry in overall.get("policies", {}).items():
            punished = entry["punished"]
            out[f"{entry['type']} {name}: at or below {entry['low_grade']} (wrongfully)"] = (
                f"{punished['sanctioned']:,} ({punished['wrongful']:,})"
            )
        out["children reached"] = overall["children_reached"]
        change = overall["behaviour_change"]["offending"]["change_share"]
        if change is not None:
            out["change in offending"] = f"{change:+.1%}"
        # Each group's disparate impact (its rate / the reference group's), said in words.
        reference = self.audit_data.get("reference_group")
        for group, entry in self.audit_data.get("by_group", {}).items():
            words = entry["sanctions"].get("any", {}).get("in_words")
            if group != reference and words:
                out[f"{group}, any sanction"] = words
        out["flagged (four-fifths rule)"] = _by_group(self.audit_data["flagged"])
        out["flagged, significant"] = _by_group(self.audit_data["flagged_significant"])
        out["seconds"] = self.manifest["total_seconds"]
        return out

    @property
    def citizens(self) -> pa.Table:
        """One row per citizen (read back from the run directory when it was written)."""
        if self.citizens_table is not None:
            return self.citizens_table
        assert self.path is not None
        names = self.manifest["files"]["citizens"]
        parts = [pq.read_table(self.path / name) for name in names if (self.path / name).exists()]
        return pa.concat_tables(parts) if parts else to_table({}, self.scenario)

    def to_frame(self) -> pd.DataFrame:
        """One row per citizen, with readable labels as pandas categoricals."""
        return self.citizens.to_pandas()

    def blacklist(self) -> pd.DataFrame:
        """The public blacklist: one row per published entry (a sanction that publishes names,
        a published list): the citizen, the entry, its first and last-plus-one day (beyond the
        run: still listed), the reasons, the sanctions the citizen was under, and the truth:
        whether the entry was wrongful and the causes of the wrongful records behind it."""
        table = self.blacklist_table
        if table is None and self.path is not None:
            names = self.manifest["files"].get("blacklist", [])
            parts = [pq.read_table(self.path / n) for n in names if (self.path / n).exists()]
            table = pa.concat_tables(parts) if parts else None
        if table is None:
            return pd.DataFrame({name: [] for name in BLACKLIST_COLUMNS})
        return table.to_pandas()

    def timeseries(self) -> pd.DataFrame:
        return self.timeseries_table.to_pandas()

    def plot(self, kind: str | None = None):
        """A matplotlib Figure of one kind (`creditsim.figures.plots.KINDS`), or all as a dict."""
        from creditsim.figures.plots import plot

        return plot(self, kind)


@paused_collector()
def run(
    scenario: str | Path | Scenario = "national-2018",
    *,
    population: int | None = None,
    years: float | None = None,
    seed: int | None = None,
    shard_size: int | None = None,
    citizen_rows: str | float | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    backend: str = "numpy",
    progress: Callable[[int, int, str], None] | None = None,
    catalogue: bool = True,
    memory_limit: int | str | None = None,
) -> RunResult:
    """Run a scenario (preset name, TOML path or Scenario) and, with `out`, write its directory.

    The population is cut into shards of at most `shard_size` citizens, each on its own random
    streams, written as it finishes; the time series and the audit add up over all shards.
    Shards run in this process, or with `workers` on a local Dask cluster, or on the Dask
    cluster at `scheduler`: the results are the same, byte for byte. `resume` finishes a run
    directory that was cut off, without redoing the shards it holds. `backend` "cupy" runs the
    event stages on a GPU (its random numbers differ from NumPy's: compare runs on one backend).
    The finished run is recorded in the run catalogue unless `catalogue` is False. A run that
    would need more memory than `memory_limit` (bytes, or a size such as "8GiB"; by default
    what this machine has available) is refused before it starts (engine/footprint.py)."""
    settings: dict[str, Any] = {}
    for key, value in (
        ("population", population),
        ("years", years),
        ("seed", seed),
        ("shard_size", shard_size),
        ("citizen_rows", citizen_rows),
    ):
        if value is not None:
            settings[key] = value
    resolved = load_scenario(scenario, {"run": settings} if settings else None)
    if resume and out is None:
        raise OutputError("--resume needs --out: the run directory to finish")
    if workers is not None and workers < 1:
        raise OutputError(f"--workers {workers}: must be at least 1")
    array_module(backend)  # fails early, with a clear message, where the backend cannot run
    from creditsim.engine import footprint  # here: it imports this module

    footprint.check(resolved, workers=workers, scheduler=scheduler, memory_limit=memory_limit,
                    written=out is not None)  # fmt: skip

    config = resolved.run
    days = horizon_days(config.years)
    sizes = shard_sizes(config.population, config.shard_size)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    target = Path(out) if out is not None else None
    plans = [
        ShardPlan(
            resolved,
            shard,
            size,
            int(first),
            days,
            config.seed,
            config.citizen_rows,
            None if target is None else str(target),
            backend,
        )  # fmt: skip
        for shard, (size, first) in enumerate(zip(sizes, starts, strict=True))
    ]
    inspected = None if target is None else _inspect_output(target, plans, overwrite, resume)
    try:
        with dask_client(workers, scheduler) as client:  # reached before anything is written
            done = {} if target is None else _claim_output(target, plans, inspected)
            gathered = _Gathered(Totals(resolved), started=time.perf_counter())
            for summary in done.values():
                gathered.take(summary)
            done.clear()
            pending = [plan for plan in plans if plan.shard not in gathered.shards]
            for summary in _execute(pending, len(plans), len(gathered.shards), client, progress):
                gathered.take(summary)
        result = _finish(resolved, plans, gathered, target, backend)
    except OSError as error:
        if target is None:
            raise
        raise OutputError(_cut_off(target, error)) from None
    if catalogue:  # a failure to record warns; it never fails the run
        from creditsim.catalogue import try_record_run

        result.catalogue_id = try_record_run(result, workers=workers, scheduler=scheduler)
    return result


def _finish(
    scenario: Scenario,
    plans: list[ShardPlan],
    gathered: _Gathered,
    target: Path | None,
    backend: str,
) -> RunResult:
    """The audit and the merged time series from the shards' totals; with `target`, the run
    directory's last files, the manifest last of all."""
    totals, timings = gathered.totals, gathered.timings
    sizes = [plan.size for plan in plans]
    audit = build_audit(scenario, totals.tallies, scenario.run.seed)
    merged = to_table(timeseries_columns(scenario, totals.timeseries, totals.histograms), scenario)
    seconds = time.perf_counter() - gathered.started
    manifest = _manifest(scenario, plans[0].days, sizes, totals.rows, timings, seconds)
    manifest["backend"] = backend
    kept = gathered.citizens
    rows = [kept[shard] for shard in sorted(kept)]
    citizens_table = pa.concat_tables(rows) if rows else None
    if citizens_table is None and target is None:
        citizens_table = to_table({}, scenario)
    result = RunResult(scenario, manifest, citizens_table, merged, audit, target, timings)
    listed = gathered.blacklists
    if listed:
        result.blacklist_table = pa.concat_tables([listed[s] for s in sorted(listed)])
    if target is not None:
        parts = sorted((target / "blacklist").glob("part-*.parquet"))
        manifest["files"]["blacklist"] = [f"blacklist/{p.name}" for p in parts]
        write_parquet(merged, target / "timeseries.parquet")
        write_json(audit, target / "audit.json", indent=None)
        write_json(manifest, target / "manifest.json")
    return result


def _cut_off(target: Path, error: OSError) -> str:
    """A run stopped by a place that could not be written: where, why, and how to finish it."""
    where = error.filename or target
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC or "errno 28" in reason:
        reason = "no space left on the device; free some space"
    return (
        f"--out {target}: could not write {where}: {reason}; then run again with --resume and "
        "the same options to finish the run (the shards already written are kept)"
    )


@dataclass
class _Gathered:
    """The shards' summaries added up as they come; each is let go once taken, so memory does
    not grow with the number of shards."""

    totals: Totals
    started: float
    timings: dict[str, float] = field(default_factory=dict)
    citizens: dict[int, pa.Table] = field(default_factory=dict)
    blacklists: dict[int, pa.Table] = field(default_factory=dict)
    shards: set[int] = field(default_factory=set)

    def take(self, summary: ShardSummary) -> None:
        self.totals.add(summary)
        self.shards.add(summary.shard)
        for stage, seconds in summary.timings.items():
            self.timings[stage] = self.timings.get(stage, 0.0) + seconds
        if summary.citizens is not None:
            self.citizens[summary.shard] = summary.citizens
        if summary.blacklist is not None:
            self.blacklists[summary.shard] = summary.blacklist


def _execute(
    plans: list[ShardPlan],
    total: int,
    finished: int,
    client: Any,
    progress: Callable[[int, int, str], None] | None,
) -> Iterator[ShardSummary]:
    """Run the shards here, one after another, or on the Dask `client`, yielding each summary."""
    steps = len(STAGES)
    if client is None:
        keep_freed_memory()
        for plan in plans:
            step = finished * steps
            label = f"shard {plan.shard + 1}/{total}"

            def stage_done(stage: str, label: str = label) -> None:
                nonlocal step
                step += 1
                if progress is not None:
                    progress(step, total * steps, f"{label}: {stage}")

            yield run_shard_task(plan, stage_done)
            finished += 1
        return
    for _, summary in map_unordered(client, run_shard_task, plans, "shard"):
        finished += 1
        if progress is not None:
            progress(finished * steps, total * steps, f"{finished}/{total} shards")
        yield summary


@dataclass(frozen=True)
class _Inspected:
    """What the run directory holds: a resumed run's plan, or the previous run's own files."""

    plan: dict[str, Any]
    resume: bool
    previous: set[str]


def _run_plan(plans: list[ShardPlan]) -> dict[str, Any]:
    first = plans[0]
    return {
        "scenario_hash": scenario_hash(first.scenario),
        "seed": first.seed,
        "days": first.days,
        "shard_sizes": [plan.size for plan in plans],
        "citizen_rows": first.citizen_rows,
        "backend": first.backend,
    }


def _inspect_output(out: Path, plans: list[ShardPlan], overwrite: bool, resume: bool) -> _Inspected:
    """Check that the run directory can be used, changing nothing; refuse with what is wrong."""
    _check_writable(out)
    plan = _run_plan(plans)
    planned = planned_files(len(plans))
    occupied = out.is_dir() and any(out.iterdir())
    if resume:
        if not (out / PLAN).is_file():
            raise OutputError(f"--out {out}: no run to resume here ({PLAN} is missing)")
        if read_plan(out) != plan:
            raise OutputError(
                f"--out {out}: --resume needs the same scenario, seed, years, population, "
                "shard size, citizen rows and backend as the run it finishes"
            )
        return _Inspected(plan, True, set())
    if occupied and not overwrite:
        raise OutputError(
            f"--out {out}: directory is not empty; choose a new one, pass --overwrite, "
            "or --resume to finish a run that was cut off"
        )
    own = previous_files(out) if occupied else set()
    blocked = in_the_way(out, planned, own)
    if blocked:
        raise OutputError(
            f"--out {out}: {describe(blocked)} would be replaced, and no run of creditsim wrote "
            "them; --overwrite replaces only a previous run's own files: move them, or choose "
            "another directory"
        )
    return _Inspected(plan, False, own)


def _check_writable(out: Path) -> None:
    """The directory, or the nearest folder above it that exists, must be a folder we can
    write in."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a directory")
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"--out {out}: {existing} is a file, so no directory can be made in it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: {existing} cannot be written in (permission denied)")


def _claim_output(out: Path, plans: list[ShardPlan], inspected: _Inspected | None):
    """Remove the previous run's own files and write the plan; on resume, load the summaries of
    the shards that finished and remove the run's own partial writes."""
    assert inspected is not None
    planned = planned_files(len(plans))
    if inspected.resume:
        remove_partial_writes(out, planned)  # partial writes of the run that was cut off
        finished = {}
        for plan in plans:
            path = summary_file(out, plan.shard)
            if path.is_file():
                finished[plan.shard] = load_summary(path)
        return finished
    remove_files(out, inspected.previous)
    write_json(inspected.plan, out / PLAN)
    return {}


def _by_group(flags: list[str]) -> str:
    """'group:outcome' flags (sanctions, lists, policies), counted by group."""
    if not flags:
        return "none"
    groups: dict[str, int] = {}
    for flag in flags:
        group = flag.split(":", 1)[0]
        groups[group] = groups.get(group, 0) + 1
    return ", ".join(f"{g} ({n} {'outcome' if n == 1 else 'outcomes'})" for g, n in groups.items())


def _manifest(scenario: Scenario, days: int, sizes: list[int], rows: int, timings, seconds):
    return {
        "creditsim_version": __version__,
        "scenario_name": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "scenario": scenario.model_dump(mode="json"),
        "seed": scenario.run.seed,
        "population": scenario.run.population,
        "years": scenario.run.years,
        "days": days,
        "shards": len(sizes),
        "shard_sizes": sizes,
        "citizen_rows": {"kept": scenario.run.citizen_rows, "rows": rows},
        "files": {
            "citizens": [
                f"citizens/part-{i:05d}.parquet"
                for i in range(len(sizes))
                if scenario.run.citizen_rows != "none"
            ],
            "timeseries_by_shard": [f"timeseries/part-{i:05d}.parquet" for i in range(len(sizes))],
            "timeseries": "timeseries.parquet",
            "audit": "audit.json",
        },
        "timings_seconds": {k: round(v, 4) for k, v in timings.items()},
        "total_seconds": round(seconds, 4),
        "numpy_version": np.__version__,
    }


__all__ = ["STAGES", "OutputError", "RunResult", "ScenarioError", "run"]
