"""Many runs at once, for compare and sweep: here one after another, or as tasks on Dask.

Each task is a whole run in one process (its shards one after another), so a comparison or a
sweep of many small runs uses every worker; a single large run is better served by
`creditsim.run(..., workers=W)`, which spreads its shards instead. Runs are recorded in the
catalogue here, in the calling process, never by the workers: one writer for the file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from creditsim import catalogue
from creditsim.engine.cluster import dask_client, map_unordered
from creditsim.engine.rundir import describe, previous_files, remove_files
from creditsim.errors import CreditsimError, OutputError
from creditsim.result import RunResult
from creditsim.scenario import Scenario
from creditsim.workflow.run import run

Progress = Callable[[int, int, str], None]


RUNS = "runs"  # the folder that holds the run directories of a compare or sweep


class WorkflowError(CreditsimError):
    """Arguments of a compare or sweep that cannot be used; nothing has run."""


@dataclass(frozen=True)
class RunSpec:
    """One run of a compare or sweep: a resolved scenario (its run settings applied), a seed."""

    scenario: Scenario
    seed: int
    label: str
    out: str | None = None
    overwrite: bool = False
    backend: str = "numpy"
    memory_limit: int | str | None = None  # see creditsim.run


def run_spec(spec: RunSpec) -> RunResult:
    """Run one spec in this process (the task a Dask worker runs); never recorded here."""
    return run(
        spec.scenario,
        seed=spec.seed,
        out=spec.out,
        overwrite=spec.overwrite,
        backend=spec.backend,
        catalogue=False,
        memory_limit=spec.memory_limit,
    )


def execute(
    specs: list[RunSpec],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Run every spec; the results in the order of `specs`, whatever order they finish in."""
    results: dict[int, RunResult] = {}
    for done, (index, result) in enumerate(_finished(specs, workers, scheduler), start=1):
        results[index] = result
        if progress is not None:
            progress(done, len(specs), f"{done}/{len(specs)} runs")
    return [results[index] for index in range(len(specs))]


def _finished(
    specs: list[RunSpec], workers: int | None, scheduler: str | None
) -> Iterator[tuple[int, RunResult]]:
    if scheduler is None and (workers is None or workers <= 1):
        for index, spec in enumerate(specs):
            yield index, run_spec(spec)
        return
    with dask_client(workers, scheduler) as client:
        yield from map_unordered(client, run_spec, specs, "run")


def prepare_directory(out: Path, overwrite: bool, own: tuple[str, ...]) -> None:
    """Refuse a non-empty directory unless `overwrite`; then remove what a previous compare,
    sweep or calibration wrote there (`own`: its files, and the runs under its runs/ folder,
    each by its own plan), and nothing else."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a directory")
    if not (out.is_dir() and any(out.iterdir())):
        return
    if not overwrite:
        raise OutputError(
            f"--out {out}: directory is not empty; choose a new one, or pass --overwrite"
        )
    files = [name for name in own if name != RUNS]
    blocked = [name for name in files if (out / name).exists() and not (out / name).is_file()]
    runs = out / RUNS
    if runs.exists() and not runs.is_dir():
        blocked.append(RUNS)
    if blocked:
        raise OutputError(
            f"--out {out}: {describe(blocked)} would be replaced, and creditsim did not write "
            "them; --overwrite replaces only a previous run's own files: move them, or choose "
            "another directory"
        )
    for name in files:
        (out / name).unlink(missing_ok=True)
    if runs.is_dir() and not runs.is_symlink():
        for folder in sorted(runs.iterdir()):
            written = previous_files(folder) if folder.is_dir() else set()
            if written and not folder.is_symlink():
                remove_files(folder, written)
                if not any(folder.iterdir()):
                    folder.rmdir()


def check_count(option: str, value: int) -> None:
    """A count the user gave (seeds, population, workers, points): a whole number, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise WorkflowError(f"{option} {value}: must be a whole number, at least 1")


def citizen_rows_for(
    given: str | float | None, scenario: Scenario, target: Path | None
) -> str | float:
    """Citizen rows only where they are written (in memory they would only cost): as given, or
    the scenario's own setting with a directory, and none without."""
    if given is not None:
        return given
    return scenario.run.citizen_rows if target is not None else "none"


def try_record(kind: str, **fields: Any) -> int | None:
    """Record a compare or sweep; a catalogue that cannot be written only warns."""
    try:
        return catalogue.record(kind, **fields)
    except Exception as error:  # noqa: BLE001 - the catalogue never fails the work itself
        _warn(f"the {kind} was not recorded in the catalogue: {error}")
        return None


def try_update(entry: int | None, **fields: Any) -> None:
    if entry is None:
        return
    try:
        catalogue.update(entry, **fields)
    except Exception as error:  # noqa: BLE001
        _warn(f"entry {entry} of the catalogue was not updated: {error}")


def record_runs(
    results: list[RunResult],
    parent: int | None,
    workers: int | None,
    settings: list[dict[str, Any]],
) -> list[int | None]:
    """Record each run as part of `parent` (nothing when the compare or sweep was not recorded)."""
    if parent is None:
        return [None] * len(results)
    return [
        catalogue.try_record_run(result, parent=parent, workers=workers, settings=extra)
        for result, extra in zip(results, settings, strict=True)
    ]


def _warn(message: str) -> None:
    warnings.warn(f"creditsim: {message}", RuntimeWarning, stacklevel=3)


__all__ = [
    "RunSpec",
    "WorkflowError",
    "check_count",
    "citizen_rows_for",
    "execute",
    "prepare_directory",
    "run_spec",
]
