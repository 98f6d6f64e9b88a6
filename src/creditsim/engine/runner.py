"""The runner: resolves run settings, runs the shards, writes the run directory and the audit."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from creditsim import __version__
from creditsim.audit.disparity import build_audit
from creditsim.engine.backend import array_module
from creditsim.engine.combine import Totals, shard_sizes, timeseries_columns
from creditsim.engine.memory import WORKER_ENVIRONMENT, keep_freed_memory, paused_collector
from creditsim.engine.rundir import (
    PLAN,
    describe,
    in_the_way,
    planned_files,
    previous_files,
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
from creditsim.outputs import to_table, write_json, write_parquet
from creditsim.scenario import Scenario, ScenarioError, load_scenario, scenario_hash

STAGES = ("population", "behaviours", "channels", "policies", "sanctions", "outputs")
BLACKLIST_COLUMNS = ("citizen", "entry", "start_day", "end_day", "reasons", "wrongful",
                     "sanctions", "wrongful_causes", "region", "group", "age_band", "income_band",
                     "household")  # fmt: skip


class OutputError(ValueError):
    """The output directory cannot be used; nothing has been written."""


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
        """A matplotlib Figure of one kind (`creditsim.report.plots.KINDS`), or all as a dict."""
        from creditsim.report.plots import plot

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
) -> RunResult:
    """Run a scenario (preset name, TOML path or Scenario) and, with `out`, write its directory.

    The population is cut into shards of at most `shard_size` citizens, each on its own random
    streams, written as it finishes; the time series and the audit add up over all shards.
    Shards run in this process, or with `workers` on a local Dask cluster, or on the Dask
    cluster at `scheduler`: the results are the same, byte for byte. `resume` finishes a run
    directory that was cut off, without redoing the shards it holds. `backend` "cupy" runs the
    event stages on a GPU (its random numbers differ from NumPy's: compare runs on one backend).
    The finished run is recorded in the run catalogue unless `catalogue` is False."""
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
    done: dict[int, ShardSummary] = {}
    if target is not None:
        done = _prepare_output(target, resolved, days, sizes, backend, overwrite, resume)

    started = time.perf_counter()
    totals = Totals(resolved)
    timings: dict[str, float] = {}
    kept: dict[int, pa.Table] = {}
    listed: dict[int, pa.Table] = {}

    def take(summary: ShardSummary) -> None:
        """Add a shard in and let it go: memory does not grow with the number of shards."""
        totals.add(summary)
        for stage, seconds in summary.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
        if summary.citizens is not None:
            kept[summary.shard] = summary.citizens
        if summary.blacklist is not None:
            listed[summary.shard] = summary.blacklist

    finished = set(done)
    for summary in done.values():
        take(summary)
    done.clear()
    pending = [plan for plan in plans if plan.shard not in finished]
    for summary in _execute(pending, len(plans), len(finished), workers, scheduler, progress):
        take(summary)

    audit = build_audit(resolved, totals.tallies, config.seed)
    merged = to_table(timeseries_columns(resolved, totals.timeseries, totals.histograms), resolved)
    manifest = _manifest(resolved, days, sizes, totals.rows, timings, time.perf_counter() - started)
    manifest["backend"] = backend
    rows = [kept[shard] for shard in sorted(kept)]
    citizens_table = pa.concat_tables(rows) if rows else None
    if citizens_table is None and target is None:
        citizens_table = to_table({}, resolved)
    result = RunResult(resolved, manifest, citizens_table, merged, audit, target, timings)
    if listed:
        result.blacklist_table = pa.concat_tables([listed[s] for s in sorted(listed)])
    if target is not None:
        parts = sorted((target / "blacklist").glob("part-*.parquet"))
        manifest["files"]["blacklist"] = [f"blacklist/{p.name}" for p in parts]
    if target is not None:
        write_parquet(merged, target / "timeseries.parquet")
        write_json(audit, target / "audit.json", indent=None)
        write_json(manifest, target / "manifest.json")
    if catalogue:  # a failure to record warns; it never fails the run
        from creditsim.catalogue import try_record_run

        result.catalogue_id = try_record_run(result, workers=workers, scheduler=scheduler)
    return result


def _execute(
    plans: list[ShardPlan],
    total: int,
    finished: int,
    workers: int | None,
    scheduler: str | None,
    progress: Callable[[int, int, str], None] | None,
) -> Iterator[ShardSummary]:
    """Run the shards here, one after another, or on a Dask cluster, yielding each summary."""
    steps = len(STAGES)
    if workers is None and scheduler is None:
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
    import dask
    from distributed import Client, LocalCluster, as_completed

    if scheduler is not None:
        client = Client(scheduler)
        cluster = None
    else:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": WORKER_ENVIRONMENT}):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
    try:
        # No list of futures is kept: each is dropped once its summary is taken, so neither the
        # workers nor this process hold finished shards' results.
        keys = [f"shard-{plan.shard}" for plan in plans]
        for future in as_completed(client.map(run_shard_task, plans, key=keys)):
            summary = future.result()
            future.release()
            del future
            finished += 1
            if progress is not None:
                progress(finished * steps, total * steps, f"{finished}/{total} shards")
            yield summary
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _prepare_output(
    out: Path,
    scenario: Scenario,
    days: int,
    sizes: list[int],
    backend: str,
    overwrite: bool,
    resume: bool,
) -> dict[int, ShardSummary]:
    """Check the run directory and write its plan; on resume, the summaries of finished shards."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a directory")
    plan = {
        "scenario_hash": scenario_hash(scenario),
        "seed": scenario.run.seed,
        "days": days,
        "shard_sizes": sizes,
        "citizen_rows": scenario.run.citizen_rows,
        "backend": backend,
    }
    occupied = out.is_dir() and any(out.iterdir())
    planned = planned_files(len(sizes))
    if resume:
        if not (out / PLAN).is_file():
            raise OutputError(f"--out {out}: no run to resume here ({PLAN} is missing)")
        before = json.loads((out / PLAN).read_text())
        if before != plan:
            raise OutputError(
                f"--out {out}: --resume needs the same scenario, seed, years, population, "
                "shard size, citizen rows and backend as the run it finishes"
            )
        remove_partial_writes(out, planned)  # partial writes of the run that was cut off
        finished = {}
        for shard in range(len(sizes)):
            path = summary_file(out, shard)
            if path.is_file():
                finished[shard] = load_summary(path)
        return finished
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
    remove_files(out, own)
    write_json(plan, out / PLAN)
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
