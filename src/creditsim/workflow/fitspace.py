"""The space a calibration searches: the fitted parameters' ranges mapped onto the unit cube
(linearly, or on a log scale), whole-number fields rounded, and the plausibility constraints
that cut the prior down to the points worth running.

Both methods move in the unit cube: the optimiser and the sampler see the same coordinates, and
a uniform prior on the cube is a uniform (or log-uniform) prior on each range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import numpy as np

from creditsim.scenario import Scenario, ScenarioError
from creditsim.scenario.paths import steps
from creditsim.workflow.targets import Constraint, Parameter, TargetError

DRAW_TRIES = 200  # draws per wanted point before the constraints are called unsatisfiable
BALL = 0.02  # the radius (a standard deviation, in the unit cube) of the walkers' first ball


@dataclass(frozen=True)
class Order:
    """A constraint resolved against the scenario: each term a fitted parameter (its index) or
    the scenario's own value of a field that is not fitted."""

    paths: tuple[str, ...]
    terms: tuple[tuple[int | None, float], ...]  # (index of the fitted parameter, or None; value)
    reason: str = ""

    def holds(self, values: list[float]) -> bool:
        """Whether the order holds at `values` (the fitted parameters' values, in order)."""
        numbers = [values[index] if index is not None else fixed for index, fixed in self.terms]
        return all(a <= b for a, b in zip(numbers, numbers[1:], strict=False))

    def describe(self) -> str:
        text = " <= ".join(self.paths)
        return f"{text} ({self.reason})" if self.reason else text


@dataclass
class Space:
    """The parameters searched, and the unit cube the search moves in that maps onto their
    ranges; values of whole-number fields are rounded, since the scenario accepts no 365.0."""

    chosen: list[Parameter]
    whole: frozenset[str]  # the paths of whole-number fields
    orders: list[Order] = field(default_factory=list)

    @classmethod
    def of(
        cls, base: Scenario, chosen: list[Parameter], constraints: list[Constraint] | None = None
    ) -> Space:
        for parameter in chosen:
            steps(base, parameter.path)
        whole = frozenset(p.path for p in chosen if _holds_integers(base, p.path))
        orders = [_order(base, chosen, c, n) for n, c in enumerate(constraints or [], start=1)]
        return cls(chosen, whole, orders)

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

    def key(self, values: dict[str, float]) -> tuple[float, ...]:
        return tuple(values[p.path] for p in self.chosen)

    def plausible(self, values: dict[str, float]) -> bool:
        """Whether every constraint holds at these parameter values."""
        listed = [values[p.path] for p in self.chosen]
        return all(order.holds(listed) for order in self.orders)

    def inside(self, unit: np.ndarray) -> bool:
        """In the prior: inside the cube, and every constraint holds."""
        return bool(np.all((unit >= 0.0) & (unit <= 1.0))) and self.plausible(self.values(unit))

    def draw(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """`count` points drawn from the prior (uniform on the cube, constraints holding), by
        rejection; refused when the constraints leave almost nothing of the ranges."""
        kept: list[np.ndarray] = []
        for _ in range(DRAW_TRIES):
            batch = rng.random((count, len(self.chosen)))
            kept.extend(point for point in batch if self.inside(point))
            if len(kept) >= count:
                return np.array(kept[:count])
        broken = "; ".join(order.describe() for order in self.orders)
        raise TargetError(
            f"constraints: fewer than {count} of {DRAW_TRIES * count} points drawn from the "
            f"parameter ranges keep them ({broken}); widen the ranges or loosen the constraints"
        )

    def around(self, rng: np.random.Generator, centre: np.ndarray, count: int) -> np.ndarray:
        """`count` points in a small ball around `centre`, each in the prior (a point outside
        is drawn again); from the whole prior if the ball holds too few (a centre on an edge
        the constraints cut)."""
        kept: list[np.ndarray] = []
        for _ in range(DRAW_TRIES):
            batch = centre + BALL * rng.standard_normal((count, len(self.chosen)))
            kept.extend(point for point in batch if self.inside(point))
            if len(kept) >= count:
                return np.array(kept[:count])
        return self.draw(rng, count)

    def _typed(self, parameter: Parameter, value: float) -> float:
        if parameter.path not in self.whole:
            return value
        low, high = math.ceil(parameter.low), math.floor(parameter.high)
        whole = round(value)
        return min(max(whole, low), high) if low <= high else whole


def _order(base: Scenario, chosen: list[Parameter], constraint: Constraint, number: int) -> Order:
    """Resolve one constraint: fitted paths by index, the others to the scenario's own value; a
    constraint the scenario's fixed values already break, or that names an unknown or unset
    field, is refused with its number and path."""
    where = f"targets file, constraints[{number}]"
    fitted = {p.path: index for index, p in enumerate(chosen)}
    terms: list[tuple[int | None, float]] = []
    for path in constraint.increasing:
        try:
            steps(base, path)
        except ScenarioError as error:
            raise TargetError(f"{where}: {error}") from None
        if path in fitted:
            terms.append((fitted[path], math.nan))
            continue
        value = _current(base, path)
        if math.isnan(value):
            raise TargetError(
                f"{where}: `{path}` is neither fitted nor a number the scenario sets; a "
                "constraint orders fitted parameters and numbers of the scenario"
            )
        terms.append((None, value))
    order = Order(tuple(constraint.increasing), tuple(terms), constraint.reason)
    if all(index is None for index, _ in terms) and not order.holds([]):
        raise TargetError(
            f"{where}: the scenario's own values break {order.describe()} and none of them is "
            "fitted; fit one of them or fix the scenario"
        )
    return order


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
