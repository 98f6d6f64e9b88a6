"""What a run directory holds of creditsim's own, so that nothing else in it is ever touched.

A run directory's `plan.json` (written before any shard runs) fixes every file the run can write:
four files at the top and one part per shard in each of four folders. `--overwrite` removes
exactly those of the previous run and refuses, naming them, when files that no run wrote stand
where the new run would write; a resume removes only its own partial writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PLAN = "plan.json"
TOP_FILES = (PLAN, "manifest.json", "audit.json", "timeseries.parquet")
SHARD_FOLDERS = {"citizens": "parquet", "timeseries": "parquet", "blacklist": "parquet",
                 "shards": "npz"}  # fmt: skip
# A partial write: `.NAME.tmp-PID` beside NAME (outputs.write_text and write_parquet).
PARTIAL = re.compile(r"^\.(?P<name>.+)\.tmp-\d+$")
SHOWN = 5  # files named in a refusal


def planned_files(shards: int) -> list[str]:
    """Every path, relative to the run directory, that a run of `shards` shards can write."""
    files = list(TOP_FILES)
    for folder, suffix in SHARD_FOLDERS.items():
        files += [f"{folder}/part-{shard:05d}.{suffix}" for shard in range(shards)]
    return files


def read_plan(out: Path) -> dict[str, Any] | None:
    """The plan of the run that wrote `out`, or None where there is none that creditsim wrote."""
    try:
        plan = json.loads((out / PLAN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sizes = plan.get("shard_sizes") if isinstance(plan, dict) else None
    if not isinstance(sizes, list) or not all(isinstance(s, int) for s in sizes):
        return None
    return plan


def previous_files(out: Path) -> set[str]:
    """The files the previous run in `out` may have written (none where it has no plan)."""
    plan = read_plan(out)
    return set() if plan is None else set(planned_files(len(plan["shard_sizes"])))


def in_the_way(out: Path, planned: Iterable[str], own: set[str]) -> list[str]:
    """Paths the new run would write that exist and that no earlier run of creditsim wrote."""
    blocked = []
    for name in planned:
        path = out / name
        parent = path.parent
        if parent != out and parent.exists() and not parent.is_dir():
            blocked.append(str(parent.relative_to(out)))
        elif (path.exists() or path.is_symlink()) and name not in own:
            blocked.append(name)
    return sorted(set(blocked))


def describe(paths: list[str]) -> str:
    """A few of the paths, and how many more."""
    shown = ", ".join(paths[:SHOWN])
    more = len(paths) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def remove_files(out: Path, names: Iterable[str]) -> None:
    """Remove the named files (never a folder, never a link's target), then their partial writes
    and the shard folders left empty."""
    for name in names:
        path = out / name
        if path.is_symlink() or path.is_file():
            path.unlink()
    remove_partial_writes(out, names)
    for folder in SHARD_FOLDERS:
        path = out / folder
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()


def remove_partial_writes(out: Path, names: Iterable[str]) -> None:
    """Remove `.NAME.tmp-PID` files left by a killed run, for the run's own NAMEs only."""
    own = set(names)
    for folder in (out, *(out / f for f in SHARD_FOLDERS)):
        if not folder.is_dir() or folder.is_symlink():
            continue
        for path in folder.iterdir():
            match = PARTIAL.match(path.name)
            if match is None or not path.is_file():
                continue
            name = str((folder / match["name"]).relative_to(out))
            if name in own:
                path.unlink()
