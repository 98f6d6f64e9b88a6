"""Calibration: which values of chosen scenario parameters are consistent with published figures.

The default method (`mcmc`) returns an approximate posterior: emcee's ensemble sampler on a
Gaussian likelihood of the log ratio of model to published figure, each target with its stated
tolerance (see `workflow.evaluate` and `workflow.posterior`), under a uniform prior on the
parameters' ranges cut by the targets file's plausibility constraints. It reports, per parameter,
the posterior median and 90 per cent interval, and per target the model's figure over the
posterior beside the published one, held-out targets included as validation; the best point
found is kept as the fitted scenario. `optimize` is the older search for one best point (SciPy's
bounded Nelder-Mead on the summed squared log ratios). Each evaluation is one run on one seed
(common random numbers), so the likelihood is a deterministic function of the parameters and the
result does not depend on the number of workers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from creditsim.engine.cluster import dask_client
from creditsim.engine.footprint import check_runs
from creditsim.errors import shorten
from creditsim.outputs import write_json, write_text
from creditsim.result import RunResult
from creditsim.scenario import Scenario, ScenarioError, load_scenario, scenario_hash
from creditsim.scenario.loading import to_toml
from creditsim.workflow.batch import check_counts, recording
from creditsim.workflow.evaluate import Evaluator, Reading, log_likelihood, loss
from creditsim.workflow.fitspace import BALL, Space, _holds_integers  # noqa: F401 (tests use it)
from creditsim.workflow.posterior import (
    LEVEL,
    TRUSTED_TIMES,
    Posterior,
    parameter_summaries,
    predictive,
    sample,
)
from creditsim.workflow.run import run
from creditsim.workflow.runs import Progress, WorkflowError, check_count, prepare_directory
from creditsim.workflow.sweep import parse_value, resolve_point
from creditsim.workflow.targets import Parameter, TargetError, Targets, gap_row, load_targets

FILES = ("calibration.json", "posterior.csv", "fitted.toml")
METHODS = ("mcmc", "optimize")
SIMPLEX_STEP = 0.25  # of each parameter's range, in the unit cube
IMPLAUSIBLE = 1e6  # the optimiser's loss at a point that breaks a constraint (never run)
SEARCH_PURPOSE = 0x5EA7C4  # keys the draw of a search's first point when the start is implausible


@dataclass
class CalibrationResult:
    """What a calibration found: the posterior (method `mcmc`) or one point (`optimize`), the
    best point as a fitted scenario, and per target the published figure against the model."""

    scenario: Scenario  # the fitted scenario (the best point found)
    targets: Targets
    method: str
    fitted: dict[str, float]  # the best point
    start: dict[str, float]
    loss: float  # summed squared log ratios over the fitted targets, at the best point
    start_loss: float
    evaluations: int
    gaps: list[dict[str, Any]]  # one row per target, at the best point
    start_gaps: list[dict[str, Any]]
    fit: list[dict[str, Any]] = field(default_factory=list)  # per target, with intervals
    parameters: list[dict[str, Any]] = field(default_factory=list)  # per parameter
    posterior: Posterior | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    result: RunResult | None = None  # the run at the best point
    path: Path | None = None
    catalogue_id: int | None = None
    workers: int | None = None
    seconds: float = 0.0

    def to_frame(self) -> pd.DataFrame:
        """One row per target: published, the model before fitting and at the best point, and
        (method `mcmc`) the model's median and 90 per cent interval over the posterior."""
        return pd.DataFrame(self.fit)

    def posterior_frame(self) -> pd.DataFrame:
        """One row per kept posterior sample: its walker, step and weight, the parameter
        values, the log posterior, and the model's figure for every target."""
        if self.posterior is None:
            return pd.DataFrame()
        post = self.posterior
        frame = pd.DataFrame(post.samples)
        frame.insert(0, "weight", post.weights)
        frame.insert(0, "step", post.step)
        frame.insert(0, "walker", post.walker)
        frame["log_posterior"] = post.log_posterior
        for target in self.targets.targets:
            frame[f"model:{target.id}"] = [r.model[target.id] for r in post.readings]
        return frame

    def summary(self) -> dict[str, Any]:
        """What calibration.json holds, less the samples."""
        post = self.posterior
        return {
            "method": self.method,
            "level": LEVEL,
            "fitted": self.fitted,
            "start": self.start,
            "loss": self.loss,
            "start_loss": self.start_loss,
            "evaluations": self.evaluations,
            "workers": self.workers,
            "seconds": self.seconds,
            "parameters": self.parameters,
            "fit": self.fit,
            "gaps": self.gaps,
            "sampler": None if post is None else _sampler(post),
            "constraints": [c.model_dump() for c in self.targets.constraints],
        }


def _sampler(post: Posterior) -> dict[str, Any]:
    return {
        "library": "emcee",
        "move": "stretch (Goodman and Weare)",
        "walkers": post.walkers,
        "steps": post.steps,
        "burn": post.burn,
        "kept": len(post.samples),
        "acceptance": post.acceptance,
        "autocorrelation_steps": {
            path: t if math.isfinite(t) else None for path, t in post.autocorrelation.items()
        },
        "effective_samples": post.effective(),
        "settled": post.settled(),
        "likelihood": "Gaussian on log((model + 1) / (published + 1)) per fitted target, sd "
        "sqrt(tolerance^2 + 1 / (count + 1)) where the audit's figure is a count",
        "prior": "uniform on each range (log-uniform where log = true), zero where a "
        "constraint breaks",
        "start": f"a ball (standard deviation {BALL} of each range, on its search scale) around "
        f"the most likely point a Nelder-Mead search of {search_budget(len(post.samples[0]))} "
        "runs found",
    }


def calibrate(
    scenario: str | Path | Scenario,
    targets: str | Path | Targets | None = None,
    *,
    parameters: Mapping[str, tuple[float, float]] | list[Parameter] | None = None,
    method: str = "mcmc",
    population: int | None = None,
    years: float | None = None,
    seed: int | None = None,
    walkers: int = 16,
    steps: int = 50,
    burn: int | None = None,
    max_evaluations: int = 80,
    workers: int | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    catalogue: bool = True,
    memory_limit: int | str | None = None,
) -> CalibrationResult:
    """Find the values of `parameters` ({path: (low, high)}, default: those the targets file
    names) for which the run's figures, scaled to 1.4 billion, agree with the published
    `targets`, within each target's tolerance.

    `method` "mcmc" (the default) samples a posterior with `walkers` walkers for `steps` steps,
    keeping the steps after `burn` (default half); "optimize" searches one best point in at most
    `max_evaluations` runs. `targets` is a targets file, or the name of a scenario that ships one
    (default: the scenario's own name). Every evaluation is a run of `population` citizens on
    one seed; with `workers`, the runs of each step are spread over a local Dask cluster (the
    result is the same). With `out`, writes calibration.json, posterior.csv (mcmc) and the
    best point's scenario as fitted.toml. Recorded in the catalogue (kind "calibrate") unless
    `catalogue` is False. Runs that would need more memory than `memory_limit` are refused."""
    _check_options(method, walkers, steps, burn, max_evaluations, population, workers)
    base = load_scenario(scenario)
    goal = targets if isinstance(targets, Targets) else load_targets(targets or base.name)
    space = Space.of(base, _parameters(parameters, goal), goal.constraints)
    _check_walkers(method, walkers, space)
    settings = _run_settings(population, years)
    run_seed = base.run.seed if seed is None else seed
    target = Path(out) if out is not None else None
    start = space.start(base)
    # Resolving the start point checks every path and the run settings before anything runs.
    resolve_point(base, start, {"run": settings})
    _check_memory(base, space, start, settings, workers, memory_limit)
    if method == "optimize":
        _check_start(space, start)
    if target is not None:
        prepare_directory(target, overwrite, FILES)
    budget = max_evaluations
    if method == "mcmc":
        budget = walkers * steps + search_budget(len(space.chosen))
    with (
        dask_client(workers, None) as client,
        recording(
            "calibrate", catalogue, scenario=base.name, scenario_hash=scenario_hash(base),
            seed=run_seed, settings=_settings(method, space, goal, walkers, steps, burn, workers),
        ) as record,
    ):  # fmt: skip
        evaluator = Evaluator(base, goal, space, settings, run_seed, memory_limit, client)
        evaluator.progress, evaluator.expected = progress, budget + 1
        if method == "mcmc":
            outcome = _sample(evaluator, start, walkers, steps, burn, run_seed)
        else:
            outcome = _optimize(evaluator, start, max_evaluations)
        outcome.path, outcome.catalogue_id, outcome.workers = target, record.entry, workers
        outcome.seconds = record.seconds()
        if target is not None:
            _write(outcome, target)
    _complete(record, outcome, target)
    return outcome


def _check_options(method, walkers, steps, burn, max_evaluations, population, workers) -> None:
    if method not in METHODS:
        raise WorkflowError(f"--method {shorten(str(method))!r}: allowed are {', '.join(METHODS)}")
    check_count("--max-evaluations", max_evaluations)
    check_count("--walkers", walkers)
    check_count("--steps", steps)
    check_counts({"--population": population, "--workers": workers})
    if burn is not None and not (isinstance(burn, int) and 0 <= burn < steps):
        raise WorkflowError(
            f"--burn {shorten(str(burn))}: the steps dropped before keeping samples, a whole "
            f"number from 0 to {steps - 1} (below --steps)"
        )


def _check_walkers(method: str, walkers: int, space: Space) -> None:
    """The ensemble sampler needs at least twice as many walkers as parameters, and four."""
    least = max(4, 2 * len(space.chosen))
    if method == "mcmc" and walkers < least:
        raise WorkflowError(
            f"--walkers {walkers}: the sampler needs at least {least} walkers for "
            f"{len(space.chosen)} parameters (twice as many, and 4 at least)"
        )


def _settings(method, space: Space, goal: Targets, walkers, steps, burn, workers) -> dict:
    return {
        "method": method,
        "parameters": [p.model_dump() for p in space.chosen],
        "targets": goal.model_dump(),
        "walkers": walkers,
        "steps": steps,
        "burn": burn,
        "workers": workers,
    }


def _run_settings(population: int | None, years: float | None) -> dict[str, Any]:
    """The run settings of every evaluation: no citizen rows (an evaluation keeps only its
    audit), and the population and years where given."""
    settings: dict[str, Any] = {"citizen_rows": "none"}
    if population is not None:
        settings["population"] = population
    if years is not None:
        settings["years"] = years
    return settings


def _sample(evaluator: Evaluator, start, walkers: int, steps: int, burn, seed: int):
    """A short search for the most likely point, the posterior from a ball around it, the best
    point among every run made, and the fit per target."""
    start_reading = evaluator.one(start)
    space = evaluator.space
    first = start if space.plausible(start) else space.values(space.draw(_rng(seed), 1)[0])

    def objective(unit: np.ndarray) -> float:
        values = space.values(unit)
        if not space.plausible(values):
            return IMPLAUSIBLE
        return -log_likelihood(evaluator.goal, evaluator.one(values))

    _nelder_mead(objective, space.unit(first), search_budget(len(space.chosen)))
    centre = space.unit(_best(evaluator))
    kept = steps // 2 if burn is None else burn
    posterior = sample(evaluator, walkers, steps, kept, seed, centre)
    best = _best(evaluator)
    outcome = _outcome(evaluator, "mcmc", start, start_reading, best)
    outcome.posterior = posterior
    outcome.parameters = parameter_summaries(posterior, evaluator, start, best)
    for row, target in zip(outcome.fit, evaluator.goal.targets, strict=True):
        row.update(predictive(posterior, target))
    return outcome


def search_budget(parameters: int) -> int:
    """The runs of the search that places the walkers' first ball: ten per parameter, 20 at
    least."""
    return max(20, 10 * parameters)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, SEARCH_PURPOSE]))


def _nelder_mead(objective, first: np.ndarray, budget: int) -> None:
    """SciPy's bounded Nelder-Mead in the unit cube from `first`, at most `budget` runs."""
    from scipy.optimize import minimize

    minimize(
        objective,
        first,
        method="Nelder-Mead",
        bounds=[(0.0, 1.0)] * len(first),
        options={
            "maxfev": budget,
            "xatol": 1e-3,
            "fatol": 1e-6,
            "initial_simplex": _simplex(first),
        },
    )


def _best(evaluator: Evaluator) -> dict[str, float]:
    """The plausible point run with the highest likelihood (the first of equals)."""
    goal, space = evaluator.goal, evaluator.space
    plausible = [values for values in evaluator.points if space.plausible(values)]
    scores = [log_likelihood(goal, evaluator.reading(values)) for values in plausible]
    return plausible[int(np.argmax(scores))]


def _outcome(
    evaluator: Evaluator, method: str, start, start_reading: Reading, best: dict[str, float]
) -> CalibrationResult:
    """The result at the best point: the fitted scenario, its run, the gaps before and after."""
    goal = evaluator.goal
    reading = evaluator.reading(best)
    result = run(
        resolve_point(evaluator.base, best, {"run": evaluator.settings}),
        seed=evaluator.seed, catalogue=False, memory_limit=evaluator.memory_limit,
    )  # fmt: skip
    gaps = [gap_row(t, reading.model[t.id]) for t in goal.targets]
    start_gaps = [gap_row(t, start_reading.model[t.id]) for t in goal.targets]
    fit = [
        {**row, "model_before": before["model"], "tolerance": target.tolerance}
        for row, before, target in zip(gaps, start_gaps, goal.targets, strict=True)
    ]
    history = [
        {"values": dict(values), "loss": loss(goal, evaluator.reading(values)),
         "log_likelihood": log_likelihood(goal, evaluator.reading(values))}
        for values in evaluator.points
    ]  # fmt: skip
    return CalibrationResult(
        scenario=resolve_point(evaluator.base, best, {}),
        targets=goal,
        method=method,
        fitted=dict(best),
        start=dict(start),
        loss=loss(goal, reading),
        start_loss=loss(goal, start_reading),
        evaluations=len(evaluator.points),
        gaps=gaps,
        start_gaps=start_gaps,
        fit=fit,
        history=history,
        result=result,
    )


def _optimize(evaluator: Evaluator, start: dict[str, float], max_evaluations: int):
    """Nelder-Mead from the start, in the unit cube; the result at the best point found. A
    point that breaks a constraint is given a loss no run can reach, and is not run."""
    space = evaluator.space
    start_reading = evaluator.one(start)

    def objective(unit: np.ndarray) -> float:
        values = space.values(unit)
        if not space.plausible(values):
            return IMPLAUSIBLE
        return loss(evaluator.goal, evaluator.one(values))

    _nelder_mead(objective, space.unit(start), max_evaluations)
    scores = [loss(evaluator.goal, evaluator.reading(values)) for values in evaluator.points]
    best = evaluator.points[int(np.argmin(scores))]
    return _outcome(evaluator, "optimize", start, start_reading, best)


def _check_start(space: Space, start: dict[str, float]) -> None:
    """The optimiser starts from the scenario's own values: they must keep the constraints."""
    if not space.plausible(start):
        broken = "; ".join(o.describe() for o in space.orders if not o.holds(space.key(start)))
        raise TargetError(
            f"constraints: the scenario's own values break {broken}; the optimiser starts "
            "there: set plausible values in the scenario, or use --method mcmc"
        )


def _write(outcome: CalibrationResult, target: Path) -> None:
    """calibration.json (the summary, the samples and their weights, the history),
    posterior.csv (mcmc) and fitted.toml, each written whole or not at all."""
    frame = outcome.posterior_frame()
    samples = {
        "columns": list(frame.columns),
        "rows": frame.to_numpy().tolist(),
    } if outcome.posterior is not None else None  # fmt: skip
    write_json(
        outcome.summary() | {"samples": samples, "history": outcome.history}, target / FILES[0]
    )
    if outcome.posterior is not None:
        write_text(frame.to_csv(index=False), target / FILES[1])
    write_text(to_toml(outcome.scenario), target / FILES[2])


def _complete(record, outcome: CalibrationResult, target: Path | None) -> None:
    final = outcome.result
    assert final is not None
    files = {"calibration": FILES[0], "fitted": FILES[2]}
    if outcome.posterior is not None:
        files["posterior"] = FILES[1]
    record.complete(
        target,
        files,
        population=final.scenario.run.population,
        years=final.scenario.run.years,
        days=final.manifest["days"],
        metrics={
            "method": outcome.method,
            "fitted": outcome.fitted,
            "loss": outcome.loss,
            "start_loss": outcome.start_loss,
            "gaps": {row["id"]: row["ratio"] for row in outcome.gaps},
            "posterior": {
                row["path"]: [row["median"], row["low"], row["high"]] for row in outcome.parameters
            },
        },
    )


def _check_memory(base, space: Space, start, settings, workers, memory_limit) -> None:
    """Refuse a calibration whose start or a corner of its ranges would not fit in memory (a
    run at a time here, or one per worker; only a few numbers of each run are kept)."""
    corners = [space.values(np.full(len(space.chosen), edge)) for edge in (0.0, 1.0)]
    scenarios = []
    for point in [start, *corners]:
        try:
            scenarios.append(resolve_point(base, point, {"run": settings}))
        except (ScenarioError, WorkflowError):  # a corner refused: its runs will say so
            continue
    check_runs(scenarios, runs=2, workers=workers, memory_limit=memory_limit, written=False)


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


# --------------------------------------------------------------------------- the fit, in words

Rows = list[list[str]]  # a header row, then the table's rows, every cell a string


def calibration_text(result: CalibrationResult) -> tuple[tuple[str, Rows], tuple[str, Rows], list]:
    """The two tables the command line prints (parameters; targets), each a title and rows, and
    the notes that say how to read them."""
    name = result.scenario.name
    post = result.posterior
    if post is None:
        title = f"fitted parameters of {name} (one best point: no interval)"
        header = ["parameter", "start", "fitted"]
        rows = [[p, _figure(result.start[p]), _figure(v)] for p, v in result.fitted.items()]
    else:
        title = (
            f"posterior of the parameters of {name}: median and {LEVEL:.0%} interval "
            f"({post.walkers} walkers x {post.steps} steps, {len(post.samples)} kept, "
            f"{result.evaluations} runs)"
        )
        header = ["parameter", "prior range", "start", "best", "median", f"{LEVEL:.0%} interval"]
        rows = [
            [row["path"], f"{_figure(row['prior_low'])} to {_figure(row['prior_high'])}"]
            + [_figure(row[k]) for k in ("start", "best", "median")]
            + [f"{_figure(row['low'])} to {_figure(row['high'])}"]
            for row in result.parameters
        ]
    return (title, [header, *rows]), _target_table(result), _notes(result)


def _target_table(result: CalibrationResult) -> tuple[str, Rows]:
    interval = result.posterior is not None
    dated = any(row["year"] is not None for row in result.fit)
    title = (
        f"targets: published against the model at 1.4 billion (loss {result.start_loss:.4g} "
        f"-> {result.loss:.4g} at the best point)"
    )
    header = ["target", *(["year"] if dated else []), "published", "before", "best point"]
    header += [
        f"model: median [{LEVEL:.0%} predictive]", "median / published", "inside"
    ] if interval else ["gap", "model / published"]  # fmt: skip
    rows = []
    for row in result.fit:
        cells = [f"{row['id']} (held out)" if row["held_out"] else row["id"]]
        cells += [str(row["year"] or "")] if dated else []
        cells += [_figure(row[k]) for k in ("published", "model_before", "model")]
        if interval:
            cells += [
                f"{_figure(row['median'])} [{_figure(row['predictive_low'])} to "
                f"{_figure(row['predictive_high'])}]",
                f"{row['median'] / row['published']:.3f}", "yes" if row["inside"] else "no",
            ]  # fmt: skip
        else:
            cells += [_figure(row["gap"], signed=True), f"{row['ratio']:.3f}"]
        rows.append(cells)
    return title, [header, *rows]


def _notes(result: CalibrationResult) -> list[str]:
    notes = [
        "median / published: the model's figure divided by the published one (1.000: equal); "
        "a held-out target is not fitted, only shown as validation."
    ]
    post = result.posterior
    if post is not None:
        notes.append(
            f"model: the median of the model's figure over the posterior samples (each a run on "
            f"the common seed); the {LEVEL:.0%} predictive interval adds the likelihood's noise "
            "(the target's tolerance, a count's sampling noise): inside says whether the "
            "published figure lies in it."
        )
        kept, tau = post.steps - post.burn, post.longest()
        notes.append(
            f"{post.acceptance:.0%} of proposals accepted; {kept} steps kept, the longest "
            f"autocorrelation time about {tau:.1f} steps, so about {post.effective():.0f} "
            "effective samples."
            + ("" if post.settled() else
               f" The chain is shorter than {TRUSTED_TIMES} autocorrelation times: these "
               "estimates and the intervals are rough; run more --steps to be sure.")
        )  # fmt: skip
        outside = [row["id"] for row in result.fit if not row["inside"]]
        if outside:
            notes.append(
                f"Published outside the model's {LEVEL:.0%} predictive interval: "
                f"{', '.join(outside)}."
            )
    return notes


def _figure(value: float, signed: bool = False) -> str:
    """A number for a table, short: 17.46 M, 466.7 k, 2.521 (four significant digits)."""
    if value != value:
        return "n/a"
    sign = "+" if signed else ""
    for size, suffix in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= size:
            return f"{value / size:{sign}.4g}{suffix}"
    return f"{value:{sign}.4g}"
