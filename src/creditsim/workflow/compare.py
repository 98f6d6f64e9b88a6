"""Paired comparison: two scenarios on the same citizens and chances, over replicate seeds.

A run's random streams are keyed by seed, shard and purpose, so A and B run with one seed share
their population and every underlying draw (common random numbers). The difference B - A within
a seed is therefore the effect of what differs between the scenarios, not the noise of two
draws; across K seeds its mean gets a t-interval. A is the baseline (no-system, or the policy in
force) and B the system or the change: `no-system` as A gives the system's own effect.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from creditsim.engine.footprint import check_runs
from creditsim.outputs import write_json, write_parquet
from creditsim.result import RunResult
from creditsim.scenario import Scenario, load_scenario, scenario_hash
from creditsim.workflow.metrics import HEADLINE, flatten_audit
from creditsim.workflow.runs import (
    Progress,
    RunSpec,
    WorkflowError,
    check_count,
    citizen_rows_for,
    execute,
    prepare_directory,
    record_runs,
    try_record,
    try_update,
)

FILES = ("compare.parquet", "compare.json", "runs")
NO_INTERVAL = "one replicate: no confidence interval (it needs 2 or more seeds)"


@dataclass
class CompareResult:
    """A paired comparison: per metric the mean of B - A over the seeds, its standard error and
    t-interval, and every replicate's values; the runs themselves in `runs_a` and `runs_b`."""

    a: Scenario
    b: Scenario
    seeds: list[int]
    population: int
    years: float
    confidence: float
    table: pd.DataFrame  # one row per metric (see `to_frame`)
    runs_a: list[RunResult] = field(repr=False)
    runs_b: list[RunResult] = field(repr=False)
    path: Path | None = None
    catalogue_id: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per metric: a_mean, b_mean, difference (mean of B - A), standard_error,
        ci_low, ci_high, significant (the interval excludes 0; None with one seed), replicates
        (seeds where the difference is defined), and the per-seed a, b and differences."""
        return self.table.copy()

    def replicates(self) -> pd.DataFrame:
        """One row per (metric, seed): a, b and their difference."""
        rows = []
        for record in self.table.itertuples(index=False):
            for seed, a, b, difference in zip(
                self.seeds, record.a_values, record.b_values, record.differences, strict=True
            ):
                row = {"metric": record.metric, "seed": seed, "a": a, "b": b}
                rows.append({**row, "difference": difference})
        return pd.DataFrame(rows)

    def summary(self, metrics: Sequence[str] = HEADLINE) -> dict[str, dict[str, Any]]:
        """The headline differences: {metric: {difference, ci_low, ci_high, significant}}."""
        rows = self.table.set_index("metric")
        out: dict[str, dict[str, Any]] = {}
        for metric in metrics:
            if metric in rows.index:
                row = rows.loc[metric]
                out[metric] = {
                    "a_mean": _plain(row["a_mean"]),
                    "b_mean": _plain(row["b_mean"]),
                    "difference": _plain(row["difference"]),
                    "ci_low": _plain(row["ci_low"]),
                    "ci_high": _plain(row["ci_high"]),
                    "significant": _plain(row["significant"]),
                }
        return out

    @property
    def note(self) -> str | None:
        return NO_INTERVAL if len(self.seeds) < 2 else None

    def to_json(self) -> dict[str, Any]:
        """What compare.json holds: the settings, both scenarios, and every metric's row."""
        return {
            "a": {"scenario": self.a.name, "scenario_hash": scenario_hash(self.a)},
            "b": {"scenario": self.b.name, "scenario_hash": scenario_hash(self.b)},
            "population": self.population,
            "years": self.years,
            "seeds": self.seeds,
            "confidence": self.confidence,
            "difference": "B - A, per seed, A the baseline; the interval is Student's t over the "
            "seeds",
            "note": self.note,
            "metrics": [
                {key: _plain(value) for key, value in row.items()}
                for row in self.table.to_dict(orient="records")
            ],
        }


def compare(
    a: str | Path | Scenario,
    b: str | Path | Scenario,
    *,
    population: int | None = None,
    years: float | None = None,
    seeds: int = 5,
    seed: int | None = None,
    shard_size: int | None = None,
    citizen_rows: str | float | None = None,
    confidence: float = 0.95,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    backend: str = "numpy",
    progress: Progress | None = None,
    catalogue: bool = True,
    memory_limit: int | str | None = None,
) -> CompareResult:
    """Run A and B on seeds `seed`, `seed + 1`, ... (`seeds` of them; `seed` defaults to A's) and
    compare every audit metric pairwise, B - A within each seed.

    Both use A's population, years and shard size unless given, so that they hold the same
    citizens. Without `out` no citizen rows are kept; with it each run writes its directory under
    `out/runs/` and the comparison writes `compare.parquet` and `compare.json`. With `workers`
    (or `scheduler`) the runs are tasks on Dask. The comparison is recorded in the catalogue
    (kind "compare") and each run with it as parent, unless `catalogue` is False. Runs that
    would need more memory than `memory_limit` (see `creditsim.run`) are refused first."""
    check_count("--seeds", seeds)
    if population is not None:
        check_count("--population", population)
    if workers is not None:
        check_count("--workers", workers)
    if not 0.0 < confidence < 1.0:
        raise WorkflowError(f"--confidence {confidence}: must lie between 0 and 1")
    first = load_scenario(a)
    base_seed = first.run.seed if seed is None else seed
    if base_seed < 0:
        raise WorkflowError(f"--seed {base_seed}: must be 0 or more")
    target = Path(out) if out is not None else None
    given = {"population": population, "years": years, "shard_size": shard_size}
    settings: dict[str, Any] = {
        key: getattr(first.run, key) if value is None else value for key, value in given.items()
    }
    settings["citizen_rows"] = citizen_rows_for(citizen_rows, first, target)
    arms = {
        "a": load_scenario(first, {"run": settings}),
        "b": load_scenario(load_scenario(b), {"run": settings}),
    }
    seed_list = list(range(base_seed, base_seed + seeds))
    check_runs(list(arms.values()), runs=2 * seeds, workers=workers, scheduler=scheduler,
               memory_limit=memory_limit, written=target is not None)  # fmt: skip
    if target is not None:
        prepare_directory(target, overwrite, FILES)
    pairs = [(arm, replicate) for replicate in seed_list for arm in ("a", "b")]
    specs = [
        RunSpec(
            arms[arm],
            replicate,
            f"{arm} seed {replicate}",
            None if target is None else str(target / "runs" / f"{arm}-seed-{replicate}"),
            overwrite,
            backend,
            memory_limit,
        )
        for arm, replicate in pairs
    ]
    hashes = {arm: scenario_hash(scenario) for arm, scenario in arms.items()}
    entry = None
    if catalogue:
        entry = try_record(
            "compare",
            status="running",
            scenario=f"{arms['a'].name} vs {arms['b'].name}",
            scenario_hash=f"{hashes['a']} vs {hashes['b']}",
            seed=base_seed,
            population=settings["population"],
            years=settings["years"],
            backend=backend,
            workers=workers,
            settings={
                "a": {"scenario": arms["a"].name, "scenario_hash": hashes["a"]},
                "b": {"scenario": arms["b"].name, "scenario_hash": hashes["b"]},
                "seeds": seed_list,
                "confidence": confidence,
                "citizen_rows": settings["citizen_rows"],
                "scheduler": scheduler,
            },
        )
    started = time.perf_counter()
    try:
        results = execute(specs, workers, scheduler, progress)
        runs_a, runs_b = results[0::2], results[1::2]
        table = paired_table(
            [flatten_audit(r.audit()) for r in runs_a],
            [flatten_audit(r.audit()) for r in runs_b],
            confidence,
        )
        result = CompareResult(
            arms["a"],
            arms["b"],
            seed_list,
            settings["population"],
            settings["years"],
            confidence,
            table,
            runs_a,
            runs_b,
            target,
            entry,
        )
        if target is not None:
            write_parquet(pa.Table.from_pandas(table, preserve_index=False), target / FILES[0])
            write_json(result.to_json(), target / FILES[1])
        record_runs(
            results,
            entry,
            workers,
            [{"compare": entry, "arm": arm} for arm, _ in pairs],
        )
    except BaseException:
        try_update(entry, status="failed", wall_seconds=round(time.perf_counter() - started, 4))
        raise
    try_update(
        entry,
        status="complete",
        wall_seconds=round(time.perf_counter() - started, 4),
        days=runs_a[0].manifest["days"],
        metrics=_headline(result),
        path=None if target is None else target.resolve(),
        files=None if target is None else {"compare": FILES[0], "json": FILES[1]},
    )
    return result


def paired_table(
    a: list[dict[str, float]], b: list[dict[str, float]], confidence: float = 0.95
) -> pd.DataFrame:
    """Per metric (A's order, then any only B has), the paired differences B - A over the
    replicates: their mean, standard error and t-interval where 2 or more are defined."""
    from scipy import stats

    names = list(dict.fromkeys([*a[0], *b[0]]))
    rows = []
    for name in names:
        values_a = np.array([replicate.get(name, math.nan) for replicate in a], dtype=float)
        values_b = np.array([replicate.get(name, math.nan) for replicate in b], dtype=float)
        differences = values_b - values_a
        defined = differences[~np.isnan(differences)]
        count = len(defined)
        mean = float(defined.mean()) if count else math.nan
        error = low = high = math.nan
        significant: bool | None = None
        if count >= 2:
            error = float(defined.std(ddof=1) / math.sqrt(count))
            half = float(stats.t.ppf(0.5 + confidence / 2, count - 1)) * error
            low, high = mean - half, mean + half
            significant = bool(low > 0 or high < 0)
        rows.append(
            {
                "metric": name,
                "a_mean": _mean(values_a),
                "b_mean": _mean(values_b),
                "difference": mean,
                "standard_error": error,
                "ci_low": low,
                "ci_high": high,
                "significant": significant,
                "replicates": count,
                "a_values": values_a.tolist(),
                "b_values": values_b.tolist(),
                "differences": differences.tolist(),
            }
        )
    table = pd.DataFrame(rows)
    table["significant"] = pd.array(table["significant"].tolist(), dtype="boolean")
    return table


def _mean(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if len(defined) else math.nan


def _headline(result: CompareResult) -> dict[str, Any]:
    """The headline differences as flat entries, one line each in `creditsim runs show`."""
    out: dict[str, Any] = {}
    for metric, entry in result.summary().items():
        out[f"{metric}: B - A"] = entry["difference"]
        interval = None if entry["ci_low"] is None else [entry["ci_low"], entry["ci_high"]]
        out[f"{metric}: {result.confidence:.0%} interval"] = interval
    return out


def _plain(value: Any) -> Any:
    """NaN as None and lists of floats likewise: JSON and the catalogue have no NaN."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return None if value is pd.NA else value


__all__ = ["CompareResult", "compare", "paired_table"]
