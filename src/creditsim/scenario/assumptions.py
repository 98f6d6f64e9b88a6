"""A scenario's assumption ranges resolved against the scenario: each `[[assumptions]]` entry's
path must name a field that holds a number, and the scenario's own value must lie in its range.

The schema checks what an entry is on its own (a dotted path, low below high, a log range above
0, each field once); what its path reaches depends on the whole scenario, after `extends` and
overrides, so it is checked here, with `paths.steps`, the way a sweep's `--set` is checked. A
sweep, a calibration or the dashboard may move a value outside its range (that is what they are
for), so only the uncertainty analysis, which draws from the ranges, insists on it.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from creditsim.scenario.loading import ScenarioError
from creditsim.scenario.paths import steps
from creditsim.scenario.schema import Scenario


@dataclass(frozen=True)
class Range:
    """One assumption, resolved: its range, the scenario's own value, and whether the field
    takes whole numbers (drawn values are then rounded, and kept within the range)."""

    path: str
    low: float
    high: float
    log: bool
    why: str
    value: float
    whole: bool

    def at(self, unit: float) -> float | int:
        """The value at `unit` in [0, 1] of the range: linear, or geometric where `log`; the
        ends exactly at 0 and 1."""
        if unit <= 0.0 or unit >= 1.0:
            value = self.low if unit <= 0.0 else self.high
        elif self.log:
            value = math.exp(math.log(self.low) + unit * (math.log(self.high) - math.log(self.low)))
        else:
            value = self.low + unit * (self.high - self.low)
        value = min(max(value, self.low), self.high)  # no rounding error past an end
        if self.whole:
            return min(max(round(value), math.ceil(self.low)), math.floor(self.high))
        return value

    def describe(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "why": self.why,
            "value": self.value,
            "whole": self.whole,
        }


def assumption_ranges(scenario: Scenario, label: str | None = None) -> list[Range]:
    """Every assumption of `scenario` resolved, in the order given; the first that cannot be
    used is a ScenarioError naming the scenario (`label`), the entry and what is allowed."""
    ranges, _ = usable_ranges(scenario, label, leave_out_missing=False)
    return ranges


def usable_ranges(
    scenario: Scenario, label: str | None = None, leave_out_missing: bool = True
) -> tuple[list[Range], dict[str, str]]:
    """The assumptions resolved, and those left out, by path, with the reason: a range over a
    field of a named entry the scenario does not have (a region, a list or a sanction that a
    scenario extending another removed, and cannot take the inherited range away with it).
    Anything else that cannot be used is a ScenarioError, as in `assumption_ranges`."""
    where = label or f"scenario {scenario.name!r}"
    out: list[Range] = []
    left_out: dict[str, str] = {}
    for index, assumption in enumerate(scenario.assumptions):
        entry = f"{where}: assumptions[{index}] ({assumption.path})"
        missing = _missing_entry(scenario, assumption.path) if leave_out_missing else None
        if missing is not None:
            left_out[assumption.path] = missing
            continue
        value, annotation = _value_at(scenario, assumption.path, entry)
        whole = _is_int(annotation)
        if whole and math.ceil(assumption.low) > math.floor(assumption.high):
            raise ScenarioError(
                f"{entry}: a whole-number field, and no whole number lies in "
                f"[{assumption.low:g}, {assumption.high:g}]; widen the range"
            )
        if not assumption.low <= value <= assumption.high:
            raise ScenarioError(
                f"{entry}: the scenario's own value {value:g} lies outside the range "
                f"[{assumption.low:g}, {assumption.high:g}]; widen the range to hold it, or "
                "change the value"
            )
        out.append(
            Range(assumption.path, assumption.low, assumption.high, assumption.log,
                  assumption.why, value, whole)
        )  # fmt: skip
    return out, left_out


def _missing_entry(scenario: Scenario, path: str) -> str | None:
    """Why `path` reaches nothing, where the reason is a named entry the scenario lacks (and
    every segment before it exists); None otherwise."""
    node: Any = scenario
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(node, Scenario) and part == "policy":
            node = node.policy
        elif isinstance(node, BaseModel):
            if part not in type(node).model_fields:
                return None
            node = getattr(node, part)
        elif isinstance(node, list):
            names = [getattr(item, "name", None) for item in node]
            if None in names:
                return None
            if part not in names:
                field = ".".join(walked)
                return f"the scenario has no entry named {part!r} in `{field}`"
            node = node[names.index(part)]
        else:
            return None
        walked.append(part)
    return None


def _value_at(scenario: Scenario, path: str, entry: str) -> tuple[float, Any]:
    """The number at `path` and the schema's type for it; a message for anything else."""
    try:
        walk = steps(scenario, path)
    except ScenarioError as error:
        reason = str(error).split(": ", 1)[-1]
        raise ScenarioError(f"{entry}: {reason}") from None
    node: Any = scenario
    annotation: Any = None
    for kind, part in walk:
        if kind == "entry":
            node = next(item for item in node if getattr(item, "name", None) == part)
        elif kind == "key":
            annotation = _mapping_value(annotation)
            if not isinstance(node, dict) or part not in node:
                raise ScenarioError(
                    f"{entry}: the key {part!r} is not set in this scenario; set it, so the "
                    "range has a value of the scenario's own to hold"
                )
            node = node[part]
        elif isinstance(node, Scenario) and part == "policy":
            node, annotation = node.policy, None
        else:
            annotation = type(node).model_fields[part].annotation
            node = getattr(node, part)
    if isinstance(node, bool) or not isinstance(node, int | float):
        what = "not set" if node is None else _kind_of(node)
        raise ScenarioError(
            f"{entry}: the field holds no number ({what}); a range is over a numeric field"
        )
    return float(node), annotation


def _kind_of(node: Any) -> str:
    if isinstance(node, bool):
        return "a flag"
    if isinstance(node, BaseModel | dict):
        return "a table"
    if isinstance(node, list):
        return "a list"
    return f"a {type(node).__name__}"


def _bare(annotation: Any) -> Any:
    """The type under Annotated[...] and an optional None."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [kind for kind in typing.get_args(annotation) if kind is not type(None)]
        if len(kinds) == 1:
            return _bare(kinds[0])
    return annotation


def _mapping_value(annotation: Any) -> Any:
    """The type of a mapping's values (dict[K, V] gives V)."""
    arguments = typing.get_args(_bare(annotation))
    return arguments[-1] if arguments else None


def _is_int(annotation: Any) -> bool:
    """Whether the schema types the field as a whole number."""
    return _bare(annotation) is int


__all__ = ["Range", "assumption_ranges", "usable_ranges"]
