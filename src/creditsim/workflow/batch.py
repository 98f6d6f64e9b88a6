"""The steps that compare, sweep and calibrate share, so that each reads as a short sequence:
check the arguments and the seeds, check the memory and prepare the directory, build the runs,
record the work in the catalogue (running, then complete or failed), write the outputs."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from creditsim.engine.footprint import check_runs
from creditsim.outputs import write_json, write_parquet
from creditsim.scenario import Scenario
from creditsim.scenario.schema import MAX_SEED
from creditsim.workflow.runs import (
    RUNS,
    RunSpec,
    WorkflowError,
    check_count,
    prepare_directory,
    try_record,
    try_update,
)


def check_counts(counts: dict[str, int | None]) -> None:
    """Each count given ({option: value}, None when not given): a whole number, at least 1."""
    for option, value in counts.items():
        if value is not None:
            check_count(option, value)


def replicate_seeds(first: int, count: int) -> list[int]:
    """The seeds `first`, `first + 1`, ... (`count` of them), refused before anything runs where
    one would fall outside what a scenario and the catalogue accept (0 to 2**63 - 1)."""
    if first < 0:
        raise WorkflowError(f"--seed {first}: must be 0 or more")
    last = first + count - 1
    if last > MAX_SEED:
        raise WorkflowError(
            f"--seed {first} with --seeds {count}: the seeds would run to {last}, past the "
            f"largest allowed, 2**63 - 1 ({MAX_SEED}); with {count} seeds --seed is at most "
            f"{MAX_SEED - count + 1}"
        )
    return list(range(first, first + count))


def make_ready(
    scenarios: Sequence[Scenario],
    runs: int,
    *,
    target: Path | None,
    overwrite: bool,
    files: tuple[str, ...],
    workers: int | None = None,
    scheduler: str | None = None,
    memory_limit: int | str | None = None,
) -> None:
    """Refuse runs that would not fit in memory, then prepare the output directory (if any):
    both before anything runs or is recorded."""
    check_runs(list(scenarios), runs=runs, workers=workers, scheduler=scheduler,
               memory_limit=memory_limit, written=target is not None)  # fmt: skip
    if target is not None:
        prepare_directory(target, overwrite, files)


def run_specs(
    cells: Sequence[tuple[Scenario, int, str, str]],
    target: Path | None,
    overwrite: bool,
    backend: str,
    memory_limit: int | str | None,
) -> list[RunSpec]:
    """One RunSpec per (scenario, seed, label, folder): its directory `target/runs/folder`, or
    none without a target."""
    return [
        RunSpec(
            scenario,
            seed,
            label,
            None if target is None else str(target / RUNS / folder),
            overwrite,
            backend,
            memory_limit,
        )
        for scenario, seed, label, folder in cells
    ]


class Recording:
    """A compare, sweep or calibration in the catalogue (`entry`; None when not recorded or the
    catalogue could not be written), timed from the moment it was recorded as running."""

    def __init__(self, kind: str, enabled: bool, fields: dict[str, Any]) -> None:
        self.entry = try_record(kind, status="running", **fields) if enabled else None
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 4)

    def failed(self) -> None:
        try_update(self.entry, status="failed", wall_seconds=self.seconds())

    def complete(self, target: Path | None, files: dict[str, str], **fields: Any) -> None:
        """Mark the entry complete with `fields`, and where its files lie (if written)."""
        try_update(
            self.entry,
            status="complete",
            wall_seconds=self.seconds(),
            **fields,
            path=None if target is None else target.resolve(),
            files=None if target is None else files,
        )


@contextmanager
def recording(kind: str, enabled: bool, **fields: Any) -> Iterator[Recording]:
    """Record the work as running; if the block raises, mark it failed and let the error go."""
    record = Recording(kind, enabled, fields)
    try:
        yield record
    except BaseException:
        record.failed()
        raise


def write_table(
    target: Path | None, files: tuple[str, ...], table: pd.DataFrame, description: dict
) -> None:
    """The table to `files[0]` (Parquet) and its description to `files[1]` (JSON), if a target."""
    if target is None:
        return
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), target / files[0])
    write_json(description, target / files[1])


__all__ = [
    "Recording",
    "check_counts",
    "make_ready",
    "recording",
    "replicate_seeds",
    "run_specs",
    "write_table",
]
