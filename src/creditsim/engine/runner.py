"""The engine's runner: a run cut into shards, its directory checked and claimed, the shards run
here or on Dask and their summaries added up. `creditsim.run` (workflow/run.py) drives it and
makes the audit and the result from what it gathers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from creditsim.engine.cluster import dask_client, map_unordered
from creditsim.engine.combine import Totals, shard_sizes
from creditsim.engine.memory import keep_freed_memory, small_pages
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
from creditsim.outputs import write_json
from creditsim.scenario import Scenario, scenario_hash

STAGES = tuple(stage.name for stage in PIPELINE)  # progress steps: one per stage
BLACKLIST_COLUMNS = ("citizen", "entry", "start_day", "end_day", "reasons", "wrongful",
                     "sanctions", "wrongful_causes", "region", "group", "age_band", "income_band",
                     "household")  # fmt: skip


def plan_shards(scenario: Scenario, target: Path | None, backend: str) -> list[ShardPlan]:
    """The run cut into shards of at most `run.shard_size` whole citizens, each on its own
    random streams (keyed by its index), in order."""
    config = scenario.run
    days = horizon_days(config.years)
    sizes = shard_sizes(config.population, config.shard_size)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    out = None if target is None else str(target)
    return [
        ShardPlan(
            scenario, shard, size, int(first), days, config.seed, config.citizen_rows, out, backend
        )  # fmt: skip
        for shard, (size, first) in enumerate(zip(sizes, starts, strict=True))
    ]


def execute(
    plans: list[ShardPlan],
    target: Path | None,
    inspected: Inspected | None,
    workers: int | None,
    scheduler: str | None,
    progress: Callable[[int, int, str], None] | None,
) -> Gathered:
    """Run every shard not already finished (on resume), here or on Dask, and add their
    summaries up; the cluster is reached, and the run directory claimed, before any shard."""
    with dask_client(workers, scheduler) as client:  # reached before anything is written
        done = {} if target is None else claim_output(target, plans, inspected)
        gathered = Gathered(Totals(plans[0].scenario), started=time.perf_counter())
        for summary in done.values():
            gathered.take(summary)
        done.clear()
        pending = [plan for plan in plans if plan.shard not in gathered.shards]
        for summary in _execute(pending, len(plans), len(gathered.shards), client, progress):
            gathered.take(summary)
    return gathered


@dataclass
class Gathered:
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

            with small_pages():
                summary = run_shard_task(plan, stage_done)
            yield summary
            finished += 1
        return
    for _, summary in map_unordered(client, run_shard_task, plans, "shard"):
        finished += 1
        if progress is not None:
            progress(finished * steps, total * steps, f"{finished}/{total} shards")
        yield summary


@dataclass(frozen=True)
class Inspected:
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


def inspect_output(out: Path, plans: list[ShardPlan], overwrite: bool, resume: bool) -> Inspected:
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
        return Inspected(plan, True, set())
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
    return Inspected(plan, False, own)


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


def claim_output(out: Path, plans: list[ShardPlan], inspected: Inspected | None):
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


__all__ = [
    "STAGES",
    "Gathered",
    "Inspected",
    "claim_output",
    "execute",
    "inspect_output",
    "plan_shards",
]
