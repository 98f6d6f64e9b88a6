"""Parameter sweeps: a grid, or a Latin hypercube over ranges, each point over replicate seeds.

Fields are addressed by dotted paths through the scenario; a list of named tables is addressed by
the entry's name (`sanctions.flight_ban.duration_days`, `policies.national.start`,
`regions.east.cameras_per_1000`), and `policy.X` is the primary score policy, as in scenario
files. A path becomes an override that `creditsim.scenario.merge` applies (named lists merge by
name). Every point is resolved and validated before anything runs, so a bad path or value is one
message naming the field and what is allowed.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from creditsim.errors import shorten
from creditsim.result import RunResult
from creditsim.scenario import Scenario, ScenarioError, load_scenario, merge, scenario_hash
from creditsim.scenario.paths import override_for, steps
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

FILES = ("sweep.parquet", "sweep.json", "runs")
KEYS = ("point", "seed")  # the first columns of a sweep's table
RUN_ARGUMENTS = {"population": "--population", "years": "--years", "shard_size": "--shard-size",
                 "citizen_rows": "--citizen-rows"}  # fmt: skip
Value = int | float | bool | str


@dataclass
class SweepResult:
    """A finished sweep: one row per (point, seed) in `table`, the swept values as columns (named
    by their paths) beside the flattened audit metrics; the runs in the same order in `runs`."""

    scenario: Scenario
    parameters: list[str]
    points: list[dict[str, Value]]
    seeds: list[int]
    table: pd.DataFrame
    runs: list[RunResult] = field(repr=False)
    path: Path | None = None
    catalogue_id: int | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self, metrics: Sequence[str] = HEADLINE) -> pd.DataFrame:
        """Per point, the swept values and the mean over the seeds of `metrics`."""
        present = [metric for metric in metrics if metric in self.table.columns]
        grouped = self.table.groupby("point", sort=True)
        means = grouped[present].mean()
        values = grouped[self.parameters].first()
        return pd.concat([values, means], axis=1).reset_index()


def sweep(
    scenario: str | Path | Scenario,
    *,
    grid: Mapping[str, Sequence[Value] | Value] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    lhs: int | None = None,
    seeds: int = 1,
    seed: int | None = None,
    population: int | None = None,
    years: float | None = None,
    shard_size: int | None = None,
    citizen_rows: str | float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    backend: str = "numpy",
    progress: Progress | None = None,
    catalogue: bool = True,
    memory_limit: int | str | None = None,
) -> SweepResult:
    """Run `scenario` at every point of a design, each on seeds `seed`, `seed + 1`, ...

    The design is the Cartesian product of `grid` ({path: [values]}), crossed with `lhs` points
    of a Latin hypercube over `ranges` ({path: (low, high)}; whole-number bounds draw whole
    numbers), drawn reproducibly from `seed` (default: the scenario's). Every point shares the
    seeds, so points differ by their settings and not by their draws. Without `out` no citizen
    rows are kept; with it each run writes its directory under `out/runs/` and the table goes to
    `out/sweep.parquet` (the design to `out/sweep.json`). With `workers` (or `scheduler`) the
    runs are tasks on Dask. Recorded in the catalogue (kind "sweep"), each run with it as parent,
    unless `catalogue` is False. Runs that would need more memory than `memory_limit` (see
    `creditsim.run`) are refused first."""
    check_count("--seeds", seeds)
    check_counts({"--population": population, "--workers": workers, "--lhs": lhs})
    base = load_scenario(scenario)
    seed_list = replicate_seeds(base.run.seed if seed is None else seed, seeds)
    values, bounds = _design_inputs(grid, ranges, lhs)
    target = Path(out) if out is not None else None
    run_settings = _run_settings(base, target, population, years, shard_size, citizen_rows)
    parameters = [*values, *bounds]
    for path in parameters:
        _check_run_path(path, run_settings)
        steps(base, path)
    points = design(values, bounds, lhs, seed_list[0])
    # Every point is resolved, and so checked, before anything runs.
    resolved = [resolve_point(base, point, {"run": run_settings}) for point in points]
    make_ready(resolved, len(resolved) * seeds, target=target, overwrite=overwrite, files=FILES,
               workers=workers, scheduler=scheduler, memory_limit=memory_limit)  # fmt: skip
    cells = [
        (point_scenario, s, f"point {index} seed {s}", f"point-{index:04d}-seed-{s}")
        for index, point_scenario in enumerate(resolved)
        for s in seed_list
    ]
    specs = run_specs(cells, target, overwrite, backend, memory_limit)
    settings = {"grid": values, "ranges": {path: list(pair) for path, pair in bounds.items()},
                "lhs": lhs, "seeds": seed_list, "points": points,
                "citizen_rows": run_settings["citizen_rows"], "scheduler": scheduler}  # fmt: skip
    with recording(
        "sweep", catalogue, scenario=base.name, scenario_hash=scenario_hash(base),
        seed=seed_list[0], population=resolved[0].run.population, years=resolved[0].run.years,
        backend=backend, workers=workers, settings=settings,
    ) as record:  # fmt: skip
        results = execute(specs, workers, scheduler, progress)
        table = sweep_table(parameters, points, seed_list, results)
        result = SweepResult(
            base, parameters, points, seed_list, table, results, target, record.entry
        )  # fmt: skip
        description = {"scenario": base.name, "scenario_hash": scenario_hash(base), **settings}
        write_table(target, FILES, table, description)
        extra = [{"sweep": record.entry, "point": i, "values": point}
                 for i, point in enumerate(points) for _ in seed_list]  # fmt: skip
        record_runs(results, record.entry, workers, extra)
    record.complete(
        target,
        {"sweep": FILES[0], "design": FILES[1]},
        days=results[0].manifest["days"],
        metrics={"points": len(points), "runs": len(results), "means": _means(result)},
    )
    return result


def _run_settings(
    base: Scenario,
    target: Path | None,
    population: int | None,
    years: float | None,
    shard_size: int | None,
    citizen_rows: str | float | None,
) -> dict[str, Any]:
    """The `[run]` settings every point shares: those given, and the citizen rows kept."""
    settings: dict[str, Any] = {
        key: value
        for key, value in (("population", population), ("years", years), ("shard_size", shard_size))
        if value is not None
    }
    settings["citizen_rows"] = citizen_rows_for(citizen_rows, base, target)
    return settings


def _design_inputs(
    grid: Mapping[str, Sequence[Value] | Value] | None,
    ranges: Mapping[str, tuple[float, float]] | None,
    lhs: int | None,
) -> tuple[dict[str, list[Value]], dict[str, tuple[float, float]]]:
    """The grid's values and the ranges' bounds, checked: each path once, ranges with --lhs
    and --lhs with ranges, and something to sweep."""
    values = {path: _as_list(path, given) for path, given in (grid or {}).items()}
    bounds = {path: _bounds(path, given) for path, given in (ranges or {}).items()}
    both = sorted(set(values) & set(bounds))
    if both:
        raise WorkflowError(f"--set {both[0]}: given as values and as a range; give it once")
    if lhs is not None and not bounds:
        raise WorkflowError(f"--lhs {lhs}: give the ranges to draw from, as --set path=low:high")
    if bounds and lhs is None:
        raise WorkflowError("ranges (--set path=low:high) need --lhs N: the points to draw")
    if not values and not bounds:
        raise WorkflowError("nothing to sweep: give --set path.to.field=v1,v2,...")
    return values, bounds


# ----------------------------------------------------------------------------------- the design


def design(
    grid: Mapping[str, Sequence[Value]],
    ranges: Mapping[str, tuple[float, float]],
    lhs: int | None,
    seed: int,
) -> list[dict[str, Value]]:
    """The points: every combination of the grid's values, crossed with the hypercube's draws."""
    products = itertools.product(*grid.values())
    combinations = [dict(zip(grid, combo, strict=True)) for combo in products]
    if not ranges:
        return combinations
    drawn = latin_hypercube(ranges, lhs or 1, seed)
    return [{**combo, **point} for combo in combinations for point in drawn]


def latin_hypercube(
    ranges: Mapping[str, tuple[float, float]], points: int, seed: int
) -> list[dict[str, float | int]]:
    """`points` draws over `ranges`, one in each of `points` equal strata of every range (scipy's
    LatinHypercube, seeded: the same seed draws the same points). Whole-number bounds give whole
    numbers, each equally likely."""
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(ranges), rng=seed).random(points)
    out: list[dict[str, float | int]] = [{} for _ in range(points)]
    for column, (path, (low, high)) in enumerate(ranges.items()):
        for row in range(points):
            share = float(unit[row, column])
            if isinstance(low, int) and isinstance(high, int):
                out[row][path] = min(low + math.floor(share * (high - low + 1)), high)
            else:
                out[row][path] = low + share * (high - low)
    return out


# ---------------------------------------------------------------------------- paths and values


def parse_value(text: str) -> Value:
    """A TOML scalar (integer, float, boolean, quoted string); anything else is a bare string."""
    text = text.strip()
    try:
        value = tomllib.loads(f"value = {text}")["value"]
    except ValueError:  # not TOML (TOMLDecodeError), or an integer too long to read
        return text
    return value if isinstance(value, int | float | bool | str) else text


def parse_settings(
    settings: Sequence[str], lhs: int | None = None
) -> tuple[dict[str, list[Value]], dict[str, tuple[float, float]]]:
    """`--set` options: `path=v1,v2,...` into the grid, `path=low:high` into the ranges (only
    with --lhs, the number of points to draw from them)."""
    grid: dict[str, list[Value]] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for text in settings:
        path, equals, spec = text.partition("=")
        path = path.strip()
        if not equals or not path or not spec.strip():
            raise WorkflowError(
                f"--set {text!r}: expected path.to.field=v1,v2,... (or path=low:high with --lhs)"
            )
        if path in grid or path in ranges:
            raise WorkflowError(f"--set {path}: given twice; give its values once, with commas")
        bounds = _range(spec)
        if bounds is None:
            grid[path] = [parse_value(item) for item in spec.split(",")]
            if any(item == "" for item in grid[path]):
                raise WorkflowError(f"--set {text!r}: an empty value; values are v1,v2,...")
            _check_distinct(path, grid[path])
        elif lhs is None:
            raise WorkflowError(
                f"--set {text!r}: a range low:high needs --lhs N, the points to draw from it"
            )
        else:
            ranges[path] = _bounds(path, bounds)
    return grid, ranges


def _check_distinct(path: str, values: Sequence[Value]) -> None:
    """Each value of a grid once: a value given twice would run every point it makes twice."""
    seen: set[Any] = set()
    for value in values:
        key = (isinstance(value, bool), value)  # 1 and 1.0 are one value; True is another
        try:
            if key in seen:
                raise WorkflowError(
                    f"--set {path}: {shorten(repr(value), 60)} given twice; give each value once"
                )
            seen.add(key)
        except TypeError:  # a value with no hash (a list, from Python) is not compared
            continue


def sweep_table(
    parameters: list[str],
    points: list[dict[str, Value]],
    seeds: list[int],
    results: list[RunResult],
) -> pd.DataFrame:
    """One row per (point, seed), in the order run: point, seed, the swept values, the metrics."""
    rows = []
    cells = iter(results)
    for index, point in enumerate(points):
        for replicate in seeds:
            metrics = flatten_audit(next(cells).audit())
            rows.append({"point": index, "seed": replicate, **point, **metrics})
    table = pd.DataFrame(rows)
    for path in parameters:
        table[path] = _column(table[path].tolist())
    return table


# ------------------------------------------------------------------------------------ internals


def resolve_point(base: Scenario, point: dict[str, Value], run: dict[str, Any]) -> Scenario:
    """`base` with every path of `point` set and `run` settings applied, validated."""
    try:
        return load_scenario(base, merge(override_for(base, point), run))
    except ScenarioError as error:
        setting = ", ".join(f"{path}={value!r}" for path, value in point.items())
        raise ScenarioError(f"--set {setting}: {error}") from None


def _check_run_path(path: str, run_settings: dict[str, Any]) -> None:
    head, _, name = path.partition(".")
    if head != "run":
        return
    if name == "seed":
        raise WorkflowError("--set run.seed: the seeds are the replicates; use --seed and --seeds")
    if name in RUN_ARGUMENTS and name in run_settings:
        raise WorkflowError(f"--set {path}: also given as {RUN_ARGUMENTS[name]}; give it once")


def _as_list(path: str, given: Sequence[Value] | Value) -> list[Value]:
    items = [given] if isinstance(given, str | int | float | bool) else list(given)
    if not items:
        raise WorkflowError(f"--set {path}: no values")
    _check_distinct(path, items)
    return items


def _bounds(path: str, given: tuple[float, float]) -> tuple[float, float]:
    try:
        low, high = given
    except (TypeError, ValueError):
        raise WorkflowError(f"--set {path}: a range is (low, high)") from None
    shown = f"--set {path}={shorten(low, 60)}:{shorten(high, 60)}"
    if not all(_is_number(v) for v in (low, high)) or not low < high:
        raise WorkflowError(f"{shown}: a range is two numbers, low < high")
    if not all(_finite(v) for v in (low, high)):
        raise WorkflowError(f"{shown}: a range is two finite numbers")
    return low, high


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        return False


def _range(spec: str) -> tuple[float, float] | None:
    parts = spec.split(":")
    if len(parts) != 2:
        return None
    low, high = (parse_value(part) for part in parts)
    if not (_is_number(low) and _is_number(high)):
        return None
    return low, high  # type: ignore[return-value]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _column(values: list[Any]) -> list[Any]:
    """One Parquet type a column: integers and floats mixed become floats, other mixes text."""
    kinds = {type(value) for value in values}
    if kinds <= {int, float} and float in kinds:
        return [float(value) for value in values]
    if len(kinds) > 1:
        return [str(value) for value in values]
    return values


def _means(result: SweepResult) -> list[dict[str, Any]]:
    """The summary for the catalogue: JSON has no NaN."""
    rows = result.summary().to_dict(orient="records")
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else _scalar(v) for k, v in row.items()}
        for row in rows
    ]


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


__all__ = [
    "SweepResult",
    "design",
    "latin_hypercube",
    "override_for",
    "parse_settings",
    "parse_value",
    "steps",
    "sweep",
    "sweep_table",
]
