"""Calibration: fit chosen scenario parameters to published figures.

Each evaluation is one run on one seed, so every evaluation shares its citizens and chances
(common random numbers) and the loss is a deterministic function of the parameters. The loss is
the weighted sum of squared log ratios of the model's figure to the published one, so that a
target of 17 million and one of 10 thousand weigh alike. SciPy's bounded Nelder-Mead searches
the unit cube that the parameter ranges map onto (linearly, or on a log scale).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from creditsim.engine.footprint import check_runs
from creditsim.errors import shorten
from creditsim.outputs import write_json, write_text
from creditsim.result import RunResult
from creditsim.scenario import Scenario, ScenarioError, load_scenario, scenario_hash
from creditsim.scenario.loading import to_toml
from creditsim.workflow.batch import check_counts, recording
from creditsim.workflow.run import run
from creditsim.workflow.runs import Progress, WorkflowError, check_count, prepare_directory
from creditsim.workflow.sweep import parse_value, resolve_point, steps
from creditsim.workflow.targets import Parameter, Targets, gap_table, load_targets, modelled

FILES = ("calibration.json", "fitted.toml")
SIMPLEX_STEP = 0.25  # of each parameter's range, in the unit cube


@dataclass
class CalibrationResult:
    """The fitted values, the fitted scenario, and the gap to each target before and after."""

    scenario: Scenario  # the fitted scenario
    targets: Targets
    fitted: dict[str, float]
    start: dict[str, float]
    loss: float
    start_loss: float
    evaluations: int
    gaps: list[dict[str, Any]]  # one row per target, at the fitted values
    start_gaps: list[dict[str, Any]]
    history: list[dict[str, Any]] = field(default_factory=list)
    result: RunResult | None = None  # the run at the fitted values
    path: Path | None = None
    catalogue_id: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per target: published, model before and after fitting, and the gap."""
        before = {row["id"]: row["model"] for row in self.start_gaps}
        frame = pd.DataFrame(self.gaps)
        frame.insert(3, "model_before", frame["id"].map(before))
        return frame

    def summary(self) -> dict[str, Any]:
        return {
            "fitted": self.fitted,
            "start": self.start,
            "loss": self.loss,
            "start_loss": self.start_loss,
            "evaluations": self.evaluations,
            "gaps": self.gaps,
        }


def calibrate(
    scenario: str | Path | Scenario,
    targets: str | Path | Targets | None = None,
    *,
    parameters: Mapping[str, tuple[float, float]] | list[Parameter] | None = None,
    population: int | None = None,
    years: float | None = None,
    seed: int | None = None,
    max_evaluations: int = 80,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    catalogue: bool = True,
    memory_limit: int | str | None = None,
) -> CalibrationResult:
    """Fit `parameters` ({path: (low, high)}, default: those the targets file names) so that the
    run's figures, scaled to 1.4 billion, come as near the published `targets` as they can.

    `targets` is a targets file, or the name of a scenario that ships one (default: the
    scenario's own name). With `out`, writes calibration.json and the fitted scenario as
    fitted.toml. Recorded in the catalogue (kind "calibrate") unless `catalogue` is False.
    Evaluations that would need more memory than `memory_limit` (see `creditsim.run`) are
    refused: the start and the corners of the ranges before anything runs, any other point
    when the optimiser reaches it."""
    check_count("--max-evaluations", max_evaluations)
    check_counts({"--population": population})
    base = load_scenario(scenario)
    goal = targets if isinstance(targets, Targets) else load_targets(targets or base.name)
    space = Space.of(base, _parameters(parameters, goal))
    settings = _run_settings(population, years)
    run_seed = base.run.seed if seed is None else seed
    target = Path(out) if out is not None else None
    start = space.start(base)
    # Resolving the start point checks every path and the run settings before anything runs.
    resolve_point(base, start, {"run": settings})
    _check_memory(base, space, start, settings, max_evaluations, memory_limit)
    if target is not None:
        prepare_directory(target, overwrite, FILES)
    evaluator = _Evaluator(base, goal, space, settings, run_seed, memory_limit)
    evaluator.progress, evaluator.expected = progress, max_evaluations
    with recording(
        "calibrate", catalogue, scenario=base.name, scenario_hash=scenario_hash(base),
        seed=run_seed,
        settings={"parameters": [p.model_dump() for p in space.chosen],
                  "targets": goal.model_dump()},
    ) as record:  # fmt: skip
        outcome = _fit(evaluator, start, max_evaluations)
        outcome.path, outcome.catalogue_id = target, record.entry
        if target is not None:
            write_json(outcome.summary() | {"history": outcome.history}, target / FILES[0])
            write_text(to_toml(outcome.scenario), target / FILES[1])
    final = outcome.result
    assert final is not None
    record.complete(
        target,
        {"calibration": FILES[0], "fitted": FILES[1]},
        population=final.scenario.run.population,
        years=final.scenario.run.years,
        days=final.manifest["days"],
        metrics={
            "fitted": outcome.fitted,
            "loss": outcome.loss,
            "start_loss": outcome.start_loss,
            "gaps": {row["id"]: row["ratio"] for row in outcome.gaps},
        },  # fmt: skip
    )
    return outcome


def _run_settings(population: int | None, years: float | None) -> dict[str, Any]:
    """The run settings of every evaluation: no citizen rows (an evaluation keeps only its
    audit), and the population and years where given."""
    settings: dict[str, Any] = {"citizen_rows": "none"}
    if population is not None:
        settings["population"] = population
    if years is not None:
        settings["years"] = years
    return settings


@dataclass
class Space:
    """The parameters searched, and the unit cube the optimiser moves in that maps onto their
    ranges; values of whole-number fields are rounded, since the scenario accepts no 365.0."""

    chosen: list[Parameter]
    whole: frozenset[str]  # the paths of whole-number fields

    @classmethod
    def of(cls, base: Scenario, chosen: list[Parameter]) -> Space:
        for parameter in chosen:
            steps(base, parameter.path)
        whole = frozenset(p.path for p in chosen if _holds_integers(base, p.path))
        return cls(chosen, whole)

    def values(self, unit: np.ndarray) -> dict[str, float]:
        """The parameter values at a point of the unit cube (clipped into it)."""
        return {
            parameter.path: self._typed(parameter, round(_from_unit(parameter, float(u)), 10))
            for parameter, u in zip(self.chosen, np.clip(unit, 0.0, 1.0), strict=True)
        }

    def start(self, base: Scenario) -> dict[str, float]:
        """The scenario's own values, clipped into the ranges (the middle where unset)."""
        return {p.path: self._typed(p, _clip(_current(base, p.path), p)) for p in self.chosen}

    def unit(self, values: dict[str, float]) -> np.ndarray:
        return np.array([_to_unit(p, values[p.path]) for p in self.chosen])

    def _typed(self, parameter: Parameter, value: float) -> float:
        if parameter.path not in self.whole:
            return value
        low, high = math.ceil(parameter.low), math.floor(parameter.high)
        whole = round(value)
        return min(max(whole, low), high) if low <= high else whole


class _Evaluator:
    """One run per point on one seed, each point run once (the optimiser revisits points), the
    history of every evaluation kept in order."""

    def __init__(self, base, goal, space, settings, seed, memory_limit) -> None:
        self.base, self.goal, self.space = base, goal, space
        self.settings, self.seed, self.memory_limit = settings, seed, memory_limit
        self.progress: Progress | None = None
        self.expected = 0
        self.history: list[dict[str, Any]] = []
        self.cache: dict[tuple[float, ...], tuple[float, RunResult]] = {}

    def __call__(self, values: dict[str, float]) -> tuple[float, RunResult]:
        key = tuple(values[p.path] for p in self.space.chosen)
        if key not in self.cache:
            resolved = resolve_point(self.base, values, {"run": self.settings})
            result = run(resolved, seed=self.seed, catalogue=False, memory_limit=self.memory_limit)
            self.cache[key] = (_loss(result, self.goal), result)
            self.history.append({"values": dict(values), "loss": self.cache[key][0]})
            if self.progress is not None:
                count = len(self.history)
                self.progress(count, self.expected, f"evaluation {count}")
        return self.cache[key]

    def loss_at(self, unit: np.ndarray) -> float:
        """The objective the optimiser sees: the loss at a point of the unit cube."""
        return self(self.space.values(unit))[0]


def _fit(evaluate: _Evaluator, start: dict[str, float], max_evaluations: int) -> CalibrationResult:
    """Nelder-Mead from the start, in the unit cube; the result at the best point found."""
    start_loss, start_result = evaluate(start)
    first = evaluate.space.unit(start)
    fit = minimize(
        evaluate.loss_at,
        first,
        method="Nelder-Mead",
        bounds=[(0.0, 1.0)] * len(first),
        options={
            "maxfev": max_evaluations,
            "xatol": 1e-3,
            "fatol": 1e-6,
            "initial_simplex": _simplex(first),
        },
    )
    fitted = evaluate.space.values(np.asarray(fit.x))
    loss, result = evaluate(fitted)
    years_run = result.manifest["days"] / 365.0
    return CalibrationResult(
        scenario=resolve_point(evaluate.base, fitted, {}),
        targets=evaluate.goal,
        fitted=fitted,
        start=start,
        loss=loss,
        start_loss=start_loss,
        evaluations=len(evaluate.history),
        gaps=gap_table(result.audit(), evaluate.goal, years_run),
        start_gaps=gap_table(start_result.audit(), evaluate.goal, years_run),
        history=evaluate.history,
        result=result,
    )


def parse_fit(texts: list[str]) -> dict[str, tuple[float, float]]:
    """`--fit path=low:high` options into {path: (low, high)}: two finite numbers, low < high."""
    ranges: dict[str, tuple[float, float]] = {}
    for text in texts:
        path, _, spec = text.partition("=")
        path = path.strip()
        bounds = [parse_value(part) for part in spec.split(":")]
        numbers = all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
        if not path or len(bounds) != 2 or not numbers:
            raise WorkflowError(
                f"--fit {shorten(text)!r}: expected path.to.field=low:high, two numbers"
            )
        try:
            low, high = (float(b) for b in bounds)
        except OverflowError:  # an integer beyond any float
            low = high = math.inf
        if not (math.isfinite(low) and math.isfinite(high)):
            raise WorkflowError(
                f"--fit {shorten(text)!r}: low and high must be finite numbers, low < high"
            )
        if not low < high:
            raise WorkflowError(
                f"--fit {shorten(text)!r}: a range is low:high with low < high (got {low:g} >= "
                f"{high:g})"
            )
        if path in ranges:
            raise WorkflowError(f"--fit {shorten(path)}: given twice; give each path once")
        ranges[path] = (low, high)
    return ranges


def _check_memory(base, space: Space, start, settings, evaluations: int, memory_limit) -> None:
    """Refuse a calibration whose start or a corner of its ranges would not fit in memory (the
    results of every evaluation are kept until the end)."""
    corners = [space.values(np.full(len(space.chosen), edge)) for edge in (0.0, 1.0)]
    points = [start, *corners]
    scenarios = []
    for point in points:
        try:
            scenarios.append(resolve_point(base, point, {"run": settings}))
        except (ScenarioError, WorkflowError):  # a corner refused: its runs will say so
            continue
    check_runs(scenarios, runs=evaluations + 1, memory_limit=memory_limit, written=False)


def _parameters(given, goal: Targets) -> list[Parameter]:
    if given is None:
        if not goal.parameters:
            raise WorkflowError(
                "nothing to fit: name parameters as --fit path=low:high, or list them under "
                "[[parameters]] in the targets file"
            )
        return list(goal.parameters)
    if isinstance(given, list):
        return given
    chosen = []
    for path, bounds in given.items():
        try:
            low, high = bounds
            if not (math.isfinite(low) and math.isfinite(high)):
                raise ValueError("not finite")
            chosen.append(
                Parameter(path=path, low=low, high=high, log=low > 0 and high / low >= 10)
            )
        except (TypeError, ValueError, OverflowError):
            raise WorkflowError(
                f"--fit {shorten(str(path))}: a range is low:high, two finite numbers with "
                f"low < high (got {shorten(repr(bounds))})"
            ) from None
    if not chosen:
        raise WorkflowError("nothing to fit: name parameters as --fit path=low:high")
    return chosen


def _simplex(first: np.ndarray) -> np.ndarray:
    """A wide first simplex (a quarter of each range): counts move in steps, and a small simplex
    would stall on the first flat stretch."""
    vertices = [first]
    for axis in range(first.shape[0]):
        vertex = first.copy()
        vertex[axis] += SIMPLEX_STEP if first[axis] + SIMPLEX_STEP <= 1.0 else -SIMPLEX_STEP
        vertices.append(vertex)
    return np.array(vertices)


def _loss(result: RunResult, goal: Targets) -> float:
    """Weighted squared log ratio of model to published figure, per target, summed. One is
    added to both so that a model figure of zero is a large but finite miss."""
    audit = result.audit()
    years = result.manifest["days"] / 365.0
    total = 0.0
    for target in goal.targets:
        model = modelled(audit, target, years)
        total += target.weight * math.log((model + 1.0) / (target.value + 1.0)) ** 2
    return total


def _to_unit(parameter: Parameter, value: float) -> float:
    if parameter.log:
        low, high = math.log(parameter.low), math.log(parameter.high)
        return (math.log(value) - low) / (high - low)
    return (value - parameter.low) / (parameter.high - parameter.low)


def _from_unit(parameter: Parameter, unit: float) -> float:
    if parameter.log:
        low, high = math.log(parameter.low), math.log(parameter.high)
        return math.exp(low + unit * (high - low))
    return parameter.low + unit * (parameter.high - parameter.low)


def _current(scenario: Scenario, path: str) -> float:
    """The scenario's own value at `path` (where the search starts), or NaN where unset."""
    node: Any = scenario.model_dump(mode="python")
    for kind, part in steps(scenario, path):
        if kind == "entry":
            node = next(item for item in node if item.get("name") == part)
        elif part == "policy" and isinstance(node, dict) and "policies" in node:
            node = next(p for p in node["policies"] if p.get("type") != "list")
        else:
            node = node.get(part) if isinstance(node, dict) else None
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else math.nan


def _clip(value: float, parameter: Parameter) -> float:
    if math.isnan(value):  # unset in the scenario: the middle of the range
        return _from_unit(parameter, 0.5)
    return min(max(value, parameter.low), parameter.high)


def _holds_integers(scenario: Scenario, path: str) -> bool:
    """Whether the schema types the field at `path` as a whole number (int, or int or None)."""
    node: Any = scenario
    annotation: Any = None
    for kind, part in steps(scenario, path):
        if kind == "entry":
            node = next(item for item in node if getattr(item, "name", None) == part)
        elif kind == "key":
            arguments = get_args(annotation)
            annotation = arguments[-1] if arguments else None
            node = node.get(part) if isinstance(node, dict) else None
        elif isinstance(node, Scenario) and part == "policy":
            node, annotation = node.policy, None
        else:
            annotation = type(node).model_fields[part].annotation
            node = getattr(node, part, None)
    return _is_int(annotation)


def _is_int(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return _is_int(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
        return bool(kinds) and all(_is_int(kind) for kind in kinds)
    return annotation is int
