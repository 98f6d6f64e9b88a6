"""Uncertainty over what is secret: a scenario's assumption ranges carried into an interval on
every headline number, with a global sensitivity ranking of the unknowns that drive each.

The design comes from SALib: Morris elementary effects by default (`samples` trajectories of D + 1
points each, D the assumptions), or Sobol indices from Saltelli's scheme (`samples` base points,
N x (D + 2) runs). Every point runs on the same seed as the scenario as written (common random
numbers), so two points differ by their assumptions alone, not by their draws; a point the design
visits twice runs once. Each run is whole in one process, here or as a task on Dask, and hands
back only its headline numbers; the result is the same whatever the workers.

Two intervals are kept apart. The interval over the assumption ranges is the spread of a headline
number over the points drawn (from the lowest to the highest, with the 5th and 95th percentiles):
what is not known about the system. The sampling interval (95 %, Jeffreys) belongs to the one run
of the scenario as written: what a finite synthetic population adds.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from creditsim.scenario import Scenario, load_scenario, merge, scenario_hash
from creditsim.scenario.assumptions import Range, usable_ranges
from creditsim.scenario.paths import override_for
from creditsim.scenario.schema import MAX_SEED
from creditsim.workflow.batch import check_counts, make_ready, recording, run_specs
from creditsim.workflow.ranges import model_key
from creditsim.workflow.runs import Progress, RunSpec, WorkflowError, check_count, run_spec
from creditsim.workflow.uncertainty_page import (
    DISPARITY_NOTE,
    RANGE_NOTE,
    SAMPLING_NOTE,
    SENSITIVITY_NOTES,
    in_words,
)

METHODS = ("morris", "sobol")
DEFAULT_SAMPLES = {"morris": 10, "sobol": 64}
MIN_SAMPLES = {"morris": 2, "sobol": 4}
MORRIS_LEVELS = 4  # the grid of a Morris design: 0, 1/3, 2/3, 1 of each range
RESAMPLES = 1000  # bootstrap resamples behind the indices' confidence intervals
CONFIDENCE = 0.95
FILES = ("uncertainty.json", "uncertainty.parquet", "uncertainty.html")
WRITTEN = "the scenario as written"  # the label of its run


@dataclass
class UncertaintyResult:
    """A finished analysis. `points` are the distinct points run (their values by path), `table`
    one row per point with its values and headline numbers; `design` gives, for each row of the
    SALib design, the point it ran as. `intervals` and `sensitivity` are by headline number."""

    scenario: Scenario
    source: str
    method: str
    samples: int
    seed: int
    population: int
    years: float
    ranges: list[Range]
    points: list[dict[str, float | int]]
    design: list[int]
    table: pd.DataFrame
    scenario_values: dict[str, float]
    sampling: dict[str, list[float] | None]
    reference_group: str | None
    intervals: dict[str, dict[str, Any]]
    sensitivity: dict[str, dict[str, Any]]
    seconds: float = 0.0
    path: Path | None = None
    unit: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    notes: dict[str, str] = field(default_factory=dict)  # by path: what limits a range
    left_out: dict[str, str] = field(default_factory=dict)  # by path: why it was not drawn

    @property
    def runs(self) -> int:
        """Runs made: the distinct points and the scenario as written."""
        return len(self.points) + 1

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> pd.DataFrame:
        """One row per headline number: its interval over the ranges, the scenario's own value
        and its sampling interval, in numbers and in words."""
        rows = []
        for metric, entry in self.intervals.items():
            sampling = entry["sampling_interval"] or [math.nan, math.nan]
            rows.append({
                "metric": metric, "low": entry["low"], "high": entry["high"],
                "q05": entry["q05"], "q95": entry["q95"], "scenario_value": entry["scenario_value"],
                "sampling_low": sampling[0], "sampling_high": sampling[1],
                "in_words": entry["in_words"],
            })  # fmt: skip
        return pd.DataFrame(rows)

    def ranking(self, metric: str) -> pd.DataFrame:
        """The assumptions ranked by how much they move `metric` (first: the most)."""
        if metric not in self.sensitivity:
            raise WorkflowError(
                f"no sensitivity for {metric!r}; allowed: {', '.join(self.sensitivity)}"
            )
        return pd.DataFrame(self.sensitivity[metric]["ranking"])

    def describe(self) -> dict[str, Any]:
        """Everything uncertainty.json holds (no timings: the same whatever the workers)."""
        return {
            "scenario": self.scenario.name,
            "scenario_hash": scenario_hash(self.scenario),
            "source": self.source,
            "method": self.method,
            "samples": self.samples,
            "seed": self.seed,
            "population": self.population,
            "years": self.years,
            "design_rows": len(self.design),
            "runs": self.runs,
            "citizens_simulated": self.runs * self.population,
            "assumptions": [
                {**r.describe(), "note": self.notes.get(r.path, "")} for r in self.ranges
            ],
            "conventions": {
                "over_assumptions": RANGE_NOTE,
                "sampling": SAMPLING_NOTE,
                "disparity": DISPARITY_NOTE,
                "sensitivity": SENSITIVITY_NOTES[self.method],
            },
            "left_out": self.left_out,
            "reference_group": self.reference_group,
            "scenario_values": {k: _json_number(v) for k, v in self.scenario_values.items()},
            "sampling_intervals": self.sampling,
            "intervals": self.intervals,
            "sensitivity": self.sensitivity,
            "design": self.design,
            "unit_design": [[float(u) for u in row] for row in self.unit],
            "points": [
                {"point": i, "values": point, "metrics": _json_row(self.table.iloc[i], self)}
                for i, point in enumerate(self.points)
            ],
        }


def uncertainty(
    scenario: str | Path | Scenario,
    *,
    samples: int | None = None,
    method: str = "morris",
    population: int | None = None,
    years: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    backend: str = "numpy",
    progress: Progress | None = None,
    memory_limit: int | str | None = None,
    catalogue: bool = True,
) -> UncertaintyResult:
    """Carry the assumption ranges of `scenario` (its `[[assumptions]]`) into an interval on every
    headline number, with a sensitivity ranking of the assumptions for each.

    `method` is "morris" (`samples` trajectories, default 10) or "sobol" (`samples` base points,
    a power of 2, default 64). Every point runs on `seed` (default: the scenario's), and so does
    the scenario as written, whose value and sampling interval stand beside each interval. With
    `out`, writes uncertainty.json (every point and its numbers, the intervals, the indices),
    uncertainty.parquet (a row per point) and uncertainty.html there, atomically. With `workers`
    (or `scheduler`) the runs are tasks on Dask; the result does not depend on them. Recorded in
    the catalogue (kind "uncertainty", its intervals as metrics) unless `catalogue` is False: a
    report or the dashboard then shows them beside the same scenario's numbers."""
    started = time.perf_counter()
    method, samples = _check_method(method, samples)
    check_counts({"--population": population, "--workers": workers})
    source = _source_label(scenario)
    base = load_scenario(scenario)
    ranges, left_out = _ranges(base, source)
    seed = _check_seed(base.run.seed if seed is None else seed)
    unit = design(method, ranges, samples, seed)
    points, rows = distinct_points(ranges, unit)
    settings = _run_settings(population, years)
    written = resolve(base, {}, settings, keep_audit_intervals=True)
    resolved = [resolve(base, point, settings) for point in points]
    target = Path(out) if out is not None else None
    make_ready([written, *resolved], len(resolved) + 1, target=target, overwrite=overwrite,
               files=FILES, workers=workers, scheduler=scheduler,
               memory_limit=memory_limit)  # fmt: skip
    cells = [(written, seed, WRITTEN, "as-written")]
    cells += [(s, seed, f"point {i}", f"point-{i:04d}") for i, s in enumerate(resolved)]
    specs = run_specs(cells, None, False, backend, memory_limit)
    settings_recorded = {"method": method, "samples": samples, "assumptions": len(ranges),
                         "model_key": model_key(written)}  # fmt: skip
    with recording(
        "uncertainty", catalogue, scenario=base.name, scenario_hash=scenario_hash(base), seed=seed,
        population=written.run.population, years=written.run.years, backend=backend,
        workers=workers, settings=settings_recorded,
    ) as record:  # fmt: skip
        evaluated = evaluate(specs, workers, scheduler, progress)
        plan = Plan(base, source, method, samples, seed, written, ranges, unit, points, rows)
        result = analyse(plan, evaluated)
        result.notes, result.left_out = timeline_notes(base, ranges), left_out
        result.seconds = round(time.perf_counter() - started, 3)
        if target is not None:
            write(result, target)
            result.path = target
        record.complete(target, {"json": FILES[0]}, metrics=recorded_intervals(result))
    return result


RECORDED = ("low", "high", "q05", "q95", "scenario_value", "in_words")


def recorded_intervals(result: UncertaintyResult) -> dict[str, dict[str, Any]]:
    """What the catalogue keeps of an analysis: each headline number's interval over the
    assumption ranges, with the scenario's own value and the sentence that says it, and how the
    analysis was made (for a reader to weigh it)."""
    out: dict[str, dict[str, Any]] = {
        metric: {key: entry.get(key) for key in RECORDED}
        for metric, entry in result.intervals.items()
    }
    out["analysis"] = {"method": result.method, "samples": result.samples,
                       "population": result.population, "runs": result.runs}  # fmt: skip
    return out


# ------------------------------------------------------------------------------------ checks


def _check_method(method: str, samples: int | None) -> tuple[str, int]:
    if method not in METHODS:
        raise WorkflowError(f"--method {method!r}: allowed are {', '.join(METHODS)}")
    if samples is None:
        return method, DEFAULT_SAMPLES[method]
    check_count("--samples", samples)
    least = MIN_SAMPLES[method]
    what = "trajectories" if method == "morris" else "base points"
    if samples < least:
        raise WorkflowError(
            f"--samples {samples}: too few for {method}; at least {least} {what} (default "
            f"{DEFAULT_SAMPLES[method]})"
        )
    if method == "sobol" and samples & (samples - 1):
        below = 1 << (samples.bit_length() - 1)
        raise WorkflowError(
            f"--samples {samples}: Sobol's sequence needs a power of 2 base points; "
            f"allowed: {below} or {below * 2}"
        )
    return method, int(samples)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise WorkflowError(f"--seed {seed}: must be a whole number from 0 to 2**63 - 1")
    return seed


def _source_label(scenario: str | Path | Scenario) -> str:
    if isinstance(scenario, Scenario):
        return f"scenario {scenario.name!r}"
    text = str(scenario)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return text
    return f"preset {text!r}"


def timeline_notes(base: Scenario, ranges: Sequence[Range]) -> dict[str, str]:
    """An assumption the timeline sets again at a later date ranges over the value before that
    date only: the phase's own value holds from it. Said beside the range, by path."""
    paths = {r.path for r in ranges}
    notes: dict[str, str] = {}
    for phase in base.timeline:
        for path in phase.set:
            if path in paths and path not in notes:
                notes[path] = (
                    f"the timeline sets it again from {phase.date.isoformat()}: the range holds "
                    "before that date only"
                )
    return notes


def _ranges(base: Scenario, source: str) -> tuple[list[Range], dict[str, str]]:
    """The ranges to draw, and those left out: ranges inherited over an entry the scenario
    removed (a region, a list, a sanction)."""
    ranges, left_out = usable_ranges(base, source) if base.assumptions else ([], {})
    if not ranges:
        gone = " (each names an entry this scenario does not have)" if left_out else ""
        raise WorkflowError(
            f"{source}: no assumption ranges to draw from{gone}; give the scenario "
            '[[assumptions]] entries (path = "channels.camera.fpir_reference", low, high, why), '
            "as national-2018 does"
        )
    return ranges, left_out


def _run_settings(population: int | None, years: float | None) -> dict[str, Any]:
    settings: dict[str, Any] = {"citizen_rows": "none"}
    if population is not None:
        settings["population"] = population
    if years is not None:
        settings["years"] = years
    return settings


# ------------------------------------------------------------------------------------ design


def problem(ranges: Sequence[Range]) -> dict[str, Any]:
    """SALib's problem: every assumption on [0, 1], mapped onto its range by `Range.at`."""
    return {
        "num_vars": len(ranges),
        "names": [r.path for r in ranges],
        "bounds": [[0.0, 1.0]] * len(ranges),
    }


def design(method: str, ranges: Sequence[Range], samples: int, seed: int) -> np.ndarray:
    """The design in unit coordinates, one row per run of the method (seeded: the same seed,
    the same design)."""
    spec = problem(ranges)
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(spec, samples, num_levels=MORRIS_LEVELS, seed=seed)
    from SALib.sample import sobol

    return sobol.sample(spec, samples, calc_second_order=False, seed=seed)


def distinct_points(
    ranges: Sequence[Range], unit: np.ndarray
) -> tuple[list[dict[str, float | int]], list[int]]:
    """The design's rows as values of the assumptions; each distinct point once, and for each
    row the point it is."""
    points: list[dict[str, float | int]] = []
    index: dict[tuple, int] = {}
    rows = []
    for row in unit:
        point = {r.path: r.at(float(u)) for r, u in zip(ranges, row, strict=True)}
        key = tuple(point.values())
        if key not in index:
            index[key] = len(points)
            points.append(point)
        rows.append(index[key])
    return points, rows


def resolve(
    base: Scenario,
    point: dict[str, float | int],
    settings: dict[str, Any],
    keep_audit_intervals: bool = False,
) -> Scenario:
    """`base` at `point`, with the run's settings; a point's audit skips the intervals it does
    not need (they change none of its numbers)."""
    change = merge(override_for(base, point), {"run": settings})
    if not keep_audit_intervals:
        change = merge(change, {"audit": {"bootstrap_replicates": 0}})
    return load_scenario(base, change)


# --------------------------------------------------------------------------------------- runs


def evaluate(
    specs: list[RunSpec],
    workers: int | None,
    scheduler: str | None,
    progress: Progress | None,
) -> list[dict[str, Any]]:
    """Each spec's headline numbers and sampling intervals, in the order of `specs`."""
    done: dict[int, dict[str, Any]] = {}
    for count, (index, numbers) in enumerate(_finished(specs, workers, scheduler), start=1):
        done[index] = numbers
        if progress is not None:
            progress(count, len(specs), f"{count}/{len(specs)} runs")
    return [done[index] for index in range(len(specs))]


def _finished(specs: list[RunSpec], workers: int | None, scheduler: str | None):
    if scheduler is None and (workers is None or workers <= 1):
        for index, spec in enumerate(specs):
            yield index, headline_of(spec)
        return
    from creditsim.engine.cluster import dask_client, map_unordered

    with dask_client(workers, scheduler) as client:
        yield from map_unordered(client, headline_of, specs, "uncertainty")


def headline_of(spec: RunSpec) -> dict[str, Any]:
    """One run (a task a worker runs): its headline numbers only, and for the scenario as
    written their sampling intervals."""
    audit = run_spec(spec).audit()
    return {
        "metrics": headline(audit),
        "sampling": sampling_intervals(audit) if spec.label == WRITTEN else {},
        "reference_group": audit.get("reference_group"),
        "band": audit.get("disparity_band"),
    }


def headline(audit: dict[str, Any]) -> dict[str, float]:
    """The headline numbers of a run's audit, by name (dotted paths into audit.json, as in
    `workflow.metrics`): wrongful sanctions and their share, citizens under each sanction and
    on each list, denied purchases, children and households reached, each group's disparity
    against the reference group, and the change in offending."""
    overall = audit["overall"]
    sanctions = overall.get("sanctions", {})
    out: dict[str, float] = {}
    anyone = sanctions.get("any", {})
    for field_name in ("sanctioned", "wrongful", "wrongful_share"):
        out[f"sanctions.any.{field_name}"] = _float(anyone.get(field_name))
    for name in ("wrongful_records", "children_reached", "households_reached"):
        out[name] = _float(overall.get(name))
    for name, entry in sanctions.items():
        if name == "any":
            continue
        for field_name in ("sanctioned", "wrongful", "denied_purchases"):
            if field_name in entry:
                out[f"sanctions.{name}.{field_name}"] = _float(entry[field_name])
    for name, entry in overall.get("lists", {}).items():
        out[f"lists.{name}.sanctioned"] = _float(entry.get("sanctioned"))
    reference = audit.get("reference_group")
    for group, entry in audit.get("by_group", {}).items():
        anyone_here = entry.get("sanctions", {}).get("any")
        if group != reference and anyone_here is not None:
            out[f"by_group.{group}.any.disparate_impact"] = _float(
                anyone_here.get("disparate_impact")
            )
    offending = overall.get("behaviour_change", {}).get("offending", {})
    out["behaviour_change.offending.change_share"] = _float(offending.get("change_share"))
    return out


def sampling_intervals(audit: dict[str, Any]) -> dict[str, list[float] | None]:
    """Each headline number's 95% sampling interval in this one run (None where there is none)."""
    from scipy import stats

    confidence = float(audit.get("confidence", CONFIDENCE))
    tails = ((1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0)
    citizens = float(audit["overall"].get("citizens", 0))
    out: dict[str, list[float] | None] = {}
    numbers = headline(audit)
    for metric, value in numbers.items():
        if math.isnan(value):
            out[metric] = None
        elif metric.endswith(".disparate_impact"):
            group = metric.split(".")[1]
            entry = audit["by_group"][group]["sanctions"]["any"]
            out[metric] = _interval(entry.get("disparate_impact_interval"))
        elif metric == "sanctions.any.wrongful_share":
            sanctioned = numbers["sanctions.any.sanctioned"]
            wrongful = numbers["sanctions.any.wrongful"]
            out[metric] = _share_interval(stats, wrongful, sanctioned, tails)
        elif metric.endswith(("denied_purchases", "wrongful_records")):
            low, high = (stats.gamma.ppf(t, value + 0.5) for t in tails)
            out[metric] = _whole([0.0 if value == 0 else float(low), float(high)])
        elif metric.startswith("behaviour_change."):
            out[metric] = None
        else:  # a count of citizens (or children, households), as a share of all citizens
            share = _share_interval(stats, value, citizens, tails)
            out[metric] = None if share is None else _whole([s * citizens for s in share])
    return out


def _whole(pair: list[float]) -> list[float]:
    """A count's interval as whole numbers, rounded outwards."""
    return [float(math.floor(pair[0])), float(math.ceil(pair[1]))]


def _share_interval(stats: Any, x: float, n: float, tails: tuple[float, float]) -> list | None:
    """Jeffreys interval of the share x / n, with the exact ends at 0 and n."""
    if n <= 0:
        return None
    low, high = (float(stats.beta.ppf(t, x + 0.5, n - x + 0.5)) for t in tails)
    return [0.0 if x <= 0 else low, 1.0 if x >= n else high]


def _interval(pair: Any) -> list[float] | None:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return None
    values = [_float(v) for v in pair]
    return None if any(math.isnan(v) for v in values) else values


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


# ----------------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Plan:
    """What an analysis runs: the scenario (as given, and as written with the run's settings),
    the assumptions, the design in unit coordinates, its distinct points and each row's point."""

    base: Scenario
    source: str
    method: str
    samples: int
    seed: int
    written: Scenario
    ranges: list[Range]
    unit: np.ndarray
    points: list[dict[str, float | int]]
    rows: list[int]


def analyse(plan: Plan, evaluated: list[dict[str, Any]]) -> UncertaintyResult:
    """The intervals and the indices, from the runs' numbers (the first: the scenario as
    written, then each distinct point)."""
    own, at_points = evaluated[0], evaluated[1:]
    points, ranges, unit = plan.points, plan.ranges, plan.unit
    metrics = list(own["metrics"])
    for numbers in at_points:
        metrics += [m for m in numbers["metrics"] if m not in metrics]
    values = np.array(
        [[numbers["metrics"].get(m, math.nan) for m in metrics] for numbers in at_points]
    ).reshape(len(at_points), len(metrics))
    table = pd.DataFrame(points)
    table.insert(0, "point", range(len(points)))
    table = pd.concat([table, pd.DataFrame(values, columns=metrics)], axis=1)
    reference = own["reference_group"]
    band = _interval(own.get("band")) or [0.8, 1.25]
    intervals, sensitivity = {}, {}
    by_row = values[plan.rows]
    for column, metric in enumerate(metrics):
        z = own["metrics"].get(metric, math.nan)
        sampled = own["sampling"].get(metric)
        intervals[metric] = interval(metric, values[:, column], z, sampled, reference, band)
        sensitivity[metric] = indices(plan.method, ranges, unit, by_row[:, column], plan.seed)
    return UncertaintyResult(
        scenario=plan.base, source=plan.source, method=plan.method, samples=plan.samples,
        seed=plan.seed, population=plan.written.run.population, years=plan.written.run.years,
        ranges=ranges, points=points, design=plan.rows, table=table,
        scenario_values={m: own["metrics"].get(m, math.nan) for m in metrics},
        sampling={m: own["sampling"].get(m) for m in metrics}, reference_group=reference,
        intervals=intervals, sensitivity=sensitivity, unit=unit,
    )  # fmt: skip


def interval(
    metric: str,
    values: np.ndarray,
    own: float,
    sampling: list[float] | None,
    reference: str | None,
    band: list[float] | None = None,
) -> dict[str, Any]:
    """A headline number over the points: lowest, highest, 5th and 95th percentiles, mean;
    beside it the scenario's own value and sampling interval, and all of it in words."""
    finite = values[np.isfinite(values)]
    entry: dict[str, Any] = {
        "points": int(values.size),
        "undefined_points": int(values.size - finite.size),
        "low": None, "high": None, "q05": None, "q95": None, "mean": None,
        "scenario_value": _json_number(own),
        "sampling_interval": sampling,
        "contains_scenario_value": None,
    }  # fmt: skip
    if finite.size:
        q05, q95 = np.quantile(finite, [0.05, 0.95], method="inverted_cdf")  # values drawn
        entry.update(low=float(finite.min()), high=float(finite.max()), q05=float(q05),
                     q95=float(q95), mean=float(finite.mean()))  # fmt: skip
        if math.isfinite(own):
            entry["contains_scenario_value"] = bool(entry["low"] <= own <= entry["high"])
    entry["in_words"] = in_words(metric, entry, reference, band or [0.8, 1.25])
    return entry


def indices(
    method: str, ranges: list[Range], unit: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, Any]:
    """The sensitivity of one headline number to each assumption, ranked (first: the most)."""
    if not np.all(np.isfinite(y)):
        return {"ranking": [], "note": "undefined at some points (a ratio over zero): no indices"}
    if np.ptp(y) == 0.0:
        zero = ("mu_star", "mu", "sigma", "mu_star_conf") if method == "morris" else (
            "S1", "S1_conf", "ST", "ST_conf")  # fmt: skip
        ranking = [{"rank": i + 1, "path": r.path, **dict.fromkeys(zero, 0.0)}
                   for i, r in enumerate(ranges)]  # fmt: skip
        return {"ranking": ranking, "note": "the same at every point: no assumption moves it"}
    spec = problem(ranges)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "morris":
            from SALib.analyze import morris

            found = morris.analyze(spec, unit, y, num_resamples=RESAMPLES, conf_level=CONFIDENCE,
                                   num_levels=MORRIS_LEVELS, seed=seed)  # fmt: skip
            keys, order = ("mu_star", "mu", "sigma", "mu_star_conf"), "mu_star"
        else:
            from SALib.analyze import sobol

            found = sobol.analyze(spec, y, calc_second_order=False, num_resamples=RESAMPLES,
                                  conf_level=CONFIDENCE, seed=seed)  # fmt: skip
            keys, order = ("S1", "S1_conf", "ST", "ST_conf"), "ST"
    entries = [
        {"path": r.path, **{k: _json_number(float(found[k][i])) for k in keys}}
        for i, r in enumerate(ranges)
    ]
    entries.sort(key=lambda e: -(e[order] if e[order] is not None else -math.inf))
    return {"ranking": [{"rank": i + 1, **e} for i, e in enumerate(entries)], "note": ""}


# ------------------------------------------------------------------------------------ outputs


def write(result: UncertaintyResult, target: Path) -> None:
    """uncertainty.json, uncertainty.parquet and uncertainty.html, each written atomically."""
    import pyarrow as pa

    from creditsim.outputs import write_json, write_parquet, write_text
    from creditsim.workflow.uncertainty_page import page

    html = page(result)
    write_json(result.describe(), target / FILES[0])
    write_parquet(pa.Table.from_pandas(result.table, preserve_index=False), target / FILES[1])
    write_text(html, target / FILES[2])


def _json_number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _json_row(row: pd.Series, result: UncertaintyResult) -> dict[str, float | None]:
    return {m: _json_number(float(row[m])) for m in result.intervals}


__all__ = [
    "METHODS",
    "UncertaintyResult",
    "design",
    "distinct_points",
    "headline",
    "sampling_intervals",
    "uncertainty",
]
