"""Paired comparison: two scenarios on the same citizens and chances, over replicate seeds.

A run's random streams are keyed by seed, shard and purpose, so A and B run with one seed share
their population and every underlying draw (common random numbers). The difference B - A within
a seed is therefore the effect of what differs between the scenarios, not the noise of two
draws; across K seeds its mean gets a t-interval. A is the baseline (no-system, or the policy in
force) and B the system or the change: `no-system` as A gives the system's own effect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from creditsim.result import RunResult
from creditsim.scenario import Scenario, load_scenario, scenario_hash
from creditsim.workflow.batch import (
    check_counts,
    make_ready,
    recording,
    replicate_seeds,
    run_specs,
    write_table,
)
from creditsim.workflow.metrics import HEADLINE, flatten_audit
from creditsim.workflow.runs import (
    Progress,
    WorkflowError,
    check_count,
    citizen_rows_for,
    execute,
    record_runs,
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
    check_counts({"--population": population, "--workers": workers})
    if not 0.0 < confidence < 1.0:
        raise WorkflowError(f"--confidence {confidence}: must lie between 0 and 1")
    first = load_scenario(a)
    seed_list = replicate_seeds(first.run.seed if seed is None else seed, seeds)
    target = Path(out) if out is not None else None
    settings = _run_settings(first, target, population, years, shard_size, citizen_rows)
    arms = {
        "a": load_scenario(first, {"run": settings}),
        "b": load_scenario(load_scenario(b), {"run": settings}),
    }
    make_ready(list(arms.values()), 2 * seeds, target=target, overwrite=overwrite, files=FILES,
               workers=workers, scheduler=scheduler, memory_limit=memory_limit)  # fmt: skip
    pairs = [(arm, replicate) for replicate in seed_list for arm in ("a", "b")]
    cells = [(arms[arm], s, f"{arm} seed {s}", f"{arm}-seed-{s}") for arm, s in pairs]
    specs = run_specs(cells, target, overwrite, backend, memory_limit)
    fields = _catalogue_fields(arms, seed_list, settings, confidence, scheduler)
    with recording("compare", catalogue, backend=backend, workers=workers, **fields) as record:
        results = execute(specs, workers, scheduler, progress)
        runs_a, runs_b = results[0::2], results[1::2]
        table = paired_table(
            [flatten_audit(r.audit()) for r in runs_a],
            [flatten_audit(r.audit()) for r in runs_b],
            confidence,
        )
        result = CompareResult(
            arms["a"], arms["b"], seed_list, settings["population"], settings["years"],
            confidence, table, runs_a, runs_b, target, record.entry,
        )  # fmt: skip
        write_table(target, FILES, table, result.to_json())
        extra = [{"compare": record.entry, "arm": arm} for arm, _ in pairs]
        record_runs(results, record.entry, workers, extra)
    record.complete(
        target,
        {"compare": FILES[0], "json": FILES[1]},
        days=runs_a[0].manifest["days"],
        metrics=_headline(result),
    )
    return result


def _run_settings(
    first: Scenario,
    target: Path | None,
    population: int | None,
    years: float | None,
    shard_size: int | None,
    citizen_rows: str | float | None,
) -> dict[str, Any]:
    """The run settings both arms share, so that they hold the same citizens: as given, else
    A's own."""
    given = {"population": population, "years": years, "shard_size": shard_size}
    settings: dict[str, Any] = {
        key: getattr(first.run, key) if value is None else value for key, value in given.items()
    }
    settings["citizen_rows"] = citizen_rows_for(citizen_rows, first, target)
    return settings


def _catalogue_fields(
    arms: dict[str, Scenario],
    seed_list: list[int],
    settings: dict[str, Any],
    confidence: float,
    scheduler: str | None,
) -> dict[str, Any]:
    """What the catalogue records of a comparison as it starts (the backend and the workers
    aside)."""
    hashes = {arm: scenario_hash(scenario) for arm, scenario in arms.items()}
    return {
        "scenario": f"{arms['a'].name} vs {arms['b'].name}",
        "scenario_hash": f"{hashes['a']} vs {hashes['b']}",
        "seed": seed_list[0],
        "population": settings["population"],
        "years": settings["years"],
        "settings": {
            "a": {"scenario": arms["a"].name, "scenario_hash": hashes["a"]},
            "b": {"scenario": arms["b"].name, "scenario_hash": hashes["b"]},
            "seeds": seed_list,
            "confidence": confidence,
            "citizen_rows": settings["citizen_rows"],
            "scheduler": scheduler,
        },
    }


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
