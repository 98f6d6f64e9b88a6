"""What a report is made from: a run directory, a comparison directory, or a catalogue id.

A run directory is what `creditsim run ... --out DIR` writes (manifest.json, audit.json,
timeseries.parquet, citizens/); a comparison directory is what `creditsim compare ... --out DIR`
writes (compare.json). A catalogue id names either, through the path the catalogue keeps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import ValidationError

from creditsim.errors import CreditsimError
from creditsim.result import RunResult
from creditsim.scenario import Scenario

RUN_NEEDS = ("manifest.json", "audit.json", "timeseries.parquet")
COMPARE_FILE = "compare.json"


class ReportError(CreditsimError):
    """What was asked for cannot be reported; the message says why. Nothing has been written."""


@dataclass
class Comparison:
    """A comparison read back from its directory: compare.json as written, and where it is."""

    data: dict[str, Any]
    path: Path | None = None


def open_source(source: str | Path) -> RunResult | Comparison:
    """A run or a comparison from a directory, or from a run catalogue id such as `12`."""
    text = str(source).strip()
    path = Path(text).expanduser()
    if path.exists():
        return open_directory(path)
    if text.isdigit():
        return open_directory(_catalogued(text))
    raise ReportError(
        f"{text}: no such run directory, and not a run id of the catalogue "
        "(give the directory a run was written to with --out, or an id from `creditsim runs list`)"
    )


def open_directory(path: Path) -> RunResult | Comparison:
    if not path.is_dir():
        raise ReportError(f"{path}: not a directory (give the directory a run was written to)")
    if (path / "manifest.json").is_file():
        return open_run(path)
    if (path / COMPARE_FILE).is_file():
        return open_comparison(path)
    if (path / "plan.json").is_file():
        raise ReportError(
            f"{path}: the run written here did not finish (no manifest.json); "
            "finish it with `creditsim run ... --out DIR --resume`"
        )
    raise ReportError(
        f"{path}: not a run directory (no manifest.json) nor a comparison (no {COMPARE_FILE})"
    )


def open_run(path: Path) -> RunResult:
    """A run directory read back as a RunResult (its citizen rows stay on disk until asked for)."""
    missing = [name for name in RUN_NEEDS if not (path / name).is_file()]
    if missing:
        raise ReportError(f"{path}: an incomplete run directory ({', '.join(missing)} missing)")
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        audit = json.loads((path / "audit.json").read_text(encoding="utf-8"))
        scenario = Scenario.model_validate(manifest["scenario"])
        timeseries = pq.ParquetFile(path / "timeseries.parquet").read()  # no dataset module
    except (OSError, ValueError, KeyError, ValidationError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ReportError(f"{path}: cannot read this run directory: {first}") from None
    timings = manifest.get("timings_seconds", {})
    return RunResult(scenario, manifest, None, timeseries, audit, path, timings)


def open_comparison(path: Path) -> Comparison:
    try:
        data = json.loads((path / COMPARE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReportError(f"{path / COMPARE_FILE}: cannot be read: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), list):
        raise ReportError(f"{path / COMPARE_FILE}: not a comparison written by creditsim compare")
    return Comparison(data, path)


def _catalogued(run_id: str) -> Path:
    from creditsim import catalogue

    try:
        row = catalogue.show_run(run_id)
    except catalogue.CatalogueError as error:
        raise ReportError(str(error)) from None
    kind = row.get("kind")
    if kind not in ("run", "compare"):
        raise ReportError(
            f"catalogue entry {run_id} is a {kind}: a report is made of a run or a compare"
        )
    if row.get("path") is None:
        raise ReportError(
            f"catalogue {kind} {run_id} wrote no files (it was made without --out): "
            "nothing to make a report from"
        )
    path = Path(row["path"])
    if not path.is_dir():
        raise ReportError(f"catalogue {kind} {run_id}: its directory {path} no longer exists")
    if row.get("on_disk") == "replaced":
        raise ReportError(
            f"catalogue {kind} {run_id}: its directory {path} now holds a later run "
            "(report that one by its directory or its own id)"
        )
    return path


__all__ = ["Comparison", "ReportError", "open_directory", "open_run", "open_source"]
