"""The runner: resolves run settings, runs the shards, writes the run directory and the audit."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from creditsim import __version__
from creditsim.audit.disparity import build_audit
from creditsim.engine.combine import Totals, shard_sizes, timeseries_columns
from creditsim.engine.shard import horizon_days, run_shard
from creditsim.outputs import shard_file, to_table, write_json, write_parquet
from creditsim.scenario import Scenario, ScenarioError, load_scenario, scenario_hash

STAGES = ("population", "behaviours", "channels", "policies", "sanctions", "outputs")


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
            out[f"{label}: sanctioned"] = entry["sanctioned"]
            out[f"{label}: wrongful"] = entry["wrongful"]
            if "denied_purchases" in entry:
                out[f"{label}: denied purchases"] = entry["denied_purchases"]
                out[f"{label}: denied purchases at 1.4 billion"] = entry[
                    "denied_purchases_at_1_4_billion"
                ]
        out["children reached"] = overall["children_reached"]
        out["flagged (four-fifths rule)"] = ", ".join(self.audit_data["flagged"]) or "none"
        out["seconds"] = round(sum(self.timings.values()), 3)
        return out

    @property
    def citizens(self) -> pa.Table:
        """One row per citizen (read back from the run directory when it was written)."""
        if self.citizens_table is not None:
            return self.citizens_table
        assert self.path is not None
        parts = [pq.read_table(self.path / name) for name in self.manifest["files"]["citizens"]]
        return pa.concat_tables(parts)

    def to_frame(self) -> pd.DataFrame:
        """One row per citizen, with readable labels as pandas categoricals."""
        return self.citizens.to_pandas()

    def timeseries(self) -> pd.DataFrame:
        return self.timeseries_table.to_pandas()


def run(
    scenario: str | Path | Scenario = "national-2018",
    *,
    population: int | None = None,
    years: float | None = None,
    seed: int | None = None,
    shard_size: int | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Run a scenario (preset name, TOML path or Scenario) and, with `out`, write its directory.

    The population is cut into shards of at most `shard_size` citizens, each run on its own
    random streams and written as it finishes; time series and audit add up over all shards."""
    settings: dict[str, Any] = {}
    for key, value in (
        ("population", population),
        ("years", years),
        ("seed", seed),
        ("shard_size", shard_size),
    ):
        if value is not None:
            settings[key] = value
    resolved = load_scenario(scenario, {"run": settings} if settings else None)
    target = _prepare_output(Path(out), overwrite) if out is not None else None

    settings_ = resolved.run
    days = horizon_days(settings_.years)
    sizes = shard_sizes(settings_.population, settings_.shard_size)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    started = time.perf_counter()
    totals = Totals()
    timings: dict[str, float] = {}
    kept: list[pa.Table] = []
    for shard, (size, first) in enumerate(zip(sizes, starts, strict=True)):
        result = run_shard(resolved, size, days, settings_.seed, shard, int(first), progress)
        written = time.perf_counter()
        citizens = to_table(result.citizens, resolved)
        series = to_table(
            timeseries_columns(resolved, result.timeseries, result.histograms), resolved
        )
        if target is not None:
            write_parquet(citizens, shard_file(target / "citizens", shard))
            write_parquet(series, shard_file(target / "timeseries", shard))
        else:
            kept.append(citizens)
        totals.add(result)
        result.timings["write"] = time.perf_counter() - written
        for stage, seconds in result.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds

    audit = build_audit(resolved, totals.tallies)
    assert totals.histograms is not None
    merged = to_table(timeseries_columns(resolved, totals.timeseries, totals.histograms), resolved)
    manifest = _manifest(resolved, days, sizes, timings, time.perf_counter() - started)
    citizens_table = pa.concat_tables(kept) if kept else None
    result = RunResult(resolved, manifest, citizens_table, merged, audit, target, timings)
    if target is not None:
        write_parquet(merged, target / "timeseries.parquet")
        write_json(audit, target / "audit.json")
        write_json(manifest, target / "manifest.json")
    return result


def _prepare_output(out: Path, overwrite: bool) -> Path:
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(
            f"--out {out}: directory is not empty; choose a new one or pass --overwrite"
        )
    return out


def _manifest(scenario: Scenario, days: int, sizes: list[int], timings, seconds) -> dict:
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
        "citizen_rows": "all",
        "files": {
            "citizens": [f"citizens/part-{i:05d}.parquet" for i in range(len(sizes))],
            "timeseries_by_shard": [f"timeseries/part-{i:05d}.parquet" for i in range(len(sizes))],
            "timeseries": "timeseries.parquet",
            "audit": "audit.json",
        },
        "timings_seconds": {k: round(v, 4) for k, v in timings.items()},
        "total_seconds": round(seconds, 4),
        "numpy_version": np.__version__,
    }


__all__ = ["STAGES", "OutputError", "RunResult", "ScenarioError", "run"]
