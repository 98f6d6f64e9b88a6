"""Dotted paths through a scenario: `sanctions.flight_ban.duration_days`, a named list's entry by
its name, `policy.X` for the primary score policy. A sweep's `--set`, a calibration's parameters,
an assumption's range and a timeline phase's settings all address fields this one way, and a
path becomes an override that `merge` applies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from creditsim.scenario.errors import ScenarioError
from creditsim.scenario.schema import Scenario

Value = int | float | bool | str


class _ByName(dict):
    """The entries of a list of named tables, by name, while an override is being built."""


def steps(scenario: Scenario, path: str) -> list[tuple[str, str]]:
    """Check `path` against the scenario: each segment with what it is, "field" (of a table),
    "entry" (a name in a list of named tables) or "key" (of a mapping such as
    fpir_multiplier_by_group). An unknown segment is a ScenarioError naming what is allowed."""
    parts = path.split(".")
    if not path or any(not part.strip() for part in parts):
        raise ScenarioError(f"field {path!r}: a path is field names joined by dots")
    node: Any = scenario
    walked: list[str] = []
    out: list[tuple[str, str]] = []
    for part in parts:
        here = ".".join([*walked, part])
        if isinstance(node, BaseModel):
            fields = type(node).model_fields
            if isinstance(node, Scenario) and part == "policy":
                node, kind = node.policy, "field"
            elif part in fields:
                node, kind = getattr(node, part), "field"
            else:
                allowed = ", ".join(fields)
                raise ScenarioError(
                    f"{_label(scenario)}: field `{here}`: unknown field; allowed: {allowed}"
                )
        elif isinstance(node, list):
            names = [getattr(item, "name", None) for item in node]
            if not names or None in names:
                raise ScenarioError(
                    f"{_label(scenario)}: field `{'.'.join(walked)}`: a list without names; "
                    "change it in a scenario file"
                )
            if part not in names:
                raise ScenarioError(
                    f"{_label(scenario)}: field `{'.'.join(walked)}`: no entry named {part!r}; "
                    f"allowed: {', '.join(names)}"
                )
            node, kind = node[names.index(part)], "entry"
        elif isinstance(node, dict):
            node, kind = node.get(part, {}), "key"
        else:
            what = "not set in this scenario" if node is None else f"a value ({node!r})"
            raise ScenarioError(
                f"{_label(scenario)}: field `{'.'.join(walked)}` is {what}: it has no field "
                f"`{part}`; set the table in a scenario file"
            )
        walked.append(part)
        out.append((kind, part))
    if out[-1][0] == "entry":
        raise ScenarioError(
            f"{_label(scenario)}: field `{path}` is a whole entry; name one of its fields"
        )
    return out


def override_for(scenario: Scenario, point: Mapping[str, Any]) -> dict[str, Any]:
    """The override that sets every path of `point` ({path: value}) in `scenario`, in the form
    `merge` takes: {"sanctions": [{"name": "flight_ban", "duration_days": 180}]}."""
    tree: dict[str, Any] = {}
    for path, value in point.items():
        walk = steps(scenario, path)
        node = tree
        for index, (_, part) in enumerate(walk):
            if index == len(walk) - 1:
                node[part] = value
                break
            if part not in node:
                node[part] = _ByName() if walk[index + 1][0] == "entry" else {}
            node = node[part]
    return _lists(tree)


def _lists(tree: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, _ByName):
            out[key] = [{"name": name, **_lists(entry)} for name, entry in value.items()]
        elif isinstance(value, dict):
            out[key] = _lists(value)
        else:
            out[key] = value
    return out


def _label(scenario: Scenario) -> str:
    return f"scenario {scenario.name!r}"


__all__ = ["Value", "override_for", "steps"]
