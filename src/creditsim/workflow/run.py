"""`creditsim.run`: a scenario run over its shards by the engine, then audited, written and
recorded in the run catalogue: the one call every other workflow (compare, sweep, calibrate, the
dashboard) makes for each run."""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from creditsim.arrays.backend import array_module
from creditsim.audit.disparity import build_audit
from creditsim.engine import footprint
from creditsim.engine.combine import timeseries_columns
from creditsim.engine.memory import paused_collector
from creditsim.engine.runner import Gathered, execute, inspect_output, plan_shards
from creditsim.engine.tasks import ShardPlan
from creditsim.errors import OutputError
from creditsim.outputs import to_table, write_json, write_parquet
from creditsim.result import RunResult
from creditsim.scenario import Scenario, load_scenario, scenario_hash
from creditsim.version import __version__


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
    resolved = run_scenario(scenario, population, years, seed, shard_size, citizen_rows)
    if resume and out is None:
        raise OutputError("--resume needs --out: the run directory to finish")
    if workers is not None and workers < 1:
        raise OutputError(f"--workers {workers}: must be at least 1")
    array_module(backend)  # fails early, with a clear message, where the backend cannot run
    footprint.check(resolved, workers=workers, scheduler=scheduler, memory_limit=memory_limit,
                    written=out is not None)  # fmt: skip

    target = Path(out) if out is not None else None
    plans = plan_shards(resolved, target, backend)
    inspected = None if target is None else inspect_output(target, plans, overwrite, resume)
    try:
        gathered = execute(plans, target, inspected, workers, scheduler, progress)
        result = _finish(resolved, plans, gathered, target, backend)
    except OSError as error:
        if target is None:
            raise
        raise OutputError(_cut_off(target, error)) from None
    if catalogue:  # a failure to record warns; it never fails the run
        from creditsim.catalogue import try_record_run

        result.catalogue_id = try_record_run(result, workers=workers, scheduler=scheduler)
    return result


def run_scenario(
    scenario: str | Path | Scenario,
    population: int | None = None,
    years: float | None = None,
    seed: int | None = None,
    shard_size: int | None = None,
    citizen_rows: str | float | None = None,
) -> Scenario:
    """The scenario a run of these settings runs, validated: the CLI checks it before its
    progress bar and passes it on, so that it is validated once."""
    settings = {
        key: value
        for key, value in (
            ("population", population),
            ("years", years),
            ("seed", seed),
            ("shard_size", shard_size),
            ("citizen_rows", citizen_rows),
        )
        if value is not None
    }
    return load_scenario(scenario, {"run": settings} if settings else None)


def _finish(
    scenario: Scenario,
    plans: list[ShardPlan],
    gathered: Gathered,
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


__all__ = ["run"]
