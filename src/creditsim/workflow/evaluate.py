"""One evaluation of a calibration: a run at one point of the parameter space, on the common
seed, read against every target (the fitted and the held-out).

Every evaluation uses the same seed, so two points differ only where their parameters change the
run (common random numbers) and an evaluation is a deterministic function of its point: the
same point is never run twice, and where it runs (here, or on any Dask worker) changes nothing.
A worker hands back only the few numbers the targets read, not the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from creditsim.engine.cluster import map_unordered
from creditsim.scenario import Scenario
from creditsim.workflow.fitspace import Space
from creditsim.workflow.run import run
from creditsim.workflow.sweep import resolve_point
from creditsim.workflow.targets import Target, Targets, modelled, raw_value

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Reading:
    """The run's figure per target, on the target's scale (1.4 billion, per year where asked),
    and the raw count behind it where the audit holds a count (its sampling noise)."""

    model: dict[str, float]
    counts: dict[str, int | None]
    days: int


@dataclass(frozen=True)
class Probe:
    """The task a worker runs: one resolved scenario on the common seed."""

    scenario: Scenario
    seed: int
    targets: tuple[Target, ...]
    memory_limit: int | str | None = None


def read(probe: Probe) -> Reading:
    """Run the probe and read every target from its audit (no citizen rows, nothing written)."""
    result = run(probe.scenario, seed=probe.seed, catalogue=False, memory_limit=probe.memory_limit)
    audit = result.audit()
    years = result.manifest["days"] / 365.0
    model, counts = {}, {}
    for target in probe.targets:
        model[target.id] = modelled(audit, target, years)
        raw = raw_value(audit, target.path)
        counts[target.id] = raw if isinstance(raw, int) else None
    return Reading(model, counts, int(result.manifest["days"]))


def log_likelihood(goal: Targets, reading: Reading) -> float:
    """A Gaussian on the log ratio of model to published figure, per fitted target: its standard
    deviation is the target's tolerance, and for a count the run's own sampling noise (about
    1/sqrt(count + 1) on the log scale) added in quadrature, so that a small run claims less."""
    total = 0.0
    for target in goal.fitted:
        ratio = math.log((reading.model[target.id] + 1.0) / (target.value + 1.0))
        variance = variance_of(target, reading)
        total += target.weight * (-0.5 * ratio**2 / variance - 0.5 * math.log(variance))
    return total


def loss(goal: Targets, reading: Reading) -> float:
    """Weighted squared log ratio of model to published figure over the fitted targets (the
    optimiser's objective). One is added to both so that a zero is a large but finite miss."""
    return sum(
        target.weight * math.log((reading.model[target.id] + 1.0) / (target.value + 1.0)) ** 2
        for target in goal.fitted
    )


def variance_of(target: Target, reading: Reading) -> float:
    """The likelihood's variance on the log scale: the target's tolerance squared, plus for a
    count its sampling noise."""
    count = reading.counts[target.id]
    return target.tolerance**2 + (0.0 if count is None else 1.0 / (count + 1.0))


@dataclass
class Evaluator:
    """Runs points, each once, here or on a Dask client; keeps every reading by point, and the
    points in the order they were first run (the history)."""

    base: Scenario
    goal: Targets
    space: Space
    settings: dict[str, Any]
    seed: int
    memory_limit: int | str | None = None
    client: Any = None  # a Dask client, or None to run here
    progress: Progress | None = None
    expected: int = 0
    readings: dict[tuple[float, ...], Reading] = field(default_factory=dict)
    points: list[dict[str, float]] = field(default_factory=list)

    def one(self, values: dict[str, float]) -> Reading:
        return self.many([values])[0]

    def many(self, batch: list[dict[str, float]]) -> list[Reading]:
        """The readings at every point of `batch`, in its order; new points are run (at once,
        on the client's workers when there is one)."""
        new: dict[tuple[float, ...], dict[str, float]] = {}
        for values in batch:
            key = self.space.key(values)
            if key not in self.readings and key not in new:
                new[key] = values
        probes = [self._probe(values) for values in new.values()]
        finished: dict[int, Reading] = {}
        for index, reading in self._run(probes):  # in any order: kept in the batch's order
            finished[index] = reading
            if self.progress is not None:
                count = len(self.points) + len(finished)
                self.progress(count, self.expected, f"evaluation {count}")
        for index, (key, values) in enumerate(new.items()):
            self.readings[key] = finished[index]
            self.points.append(values)
        return [self.readings[self.space.key(values)] for values in batch]

    def reading(self, values: dict[str, float]) -> Reading:
        """The reading of a point already run."""
        return self.readings[self.space.key(values)]

    def _probe(self, values: dict[str, float]) -> Probe:
        resolved = resolve_point(self.base, values, {"run": self.settings})
        return Probe(resolved, self.seed, tuple(self.goal.targets), self.memory_limit)

    def _run(self, probes: list[Probe]):
        if self.client is None or len(probes) <= 1:
            yield from ((index, read(probe)) for index, probe in enumerate(probes))
            return
        yield from map_unordered(self.client, read, probes, "calibrate")
