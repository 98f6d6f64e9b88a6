"""Scenario files: presets, `extends`, merging, and one clear message for any mistake."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from creditsim.scenario.schema import Scenario

PRESETS_PACKAGE = "creditsim.scenario.presets"
MAX_EXTENDS_DEPTH = 8


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file, the field and what is allowed."""


def preset_names() -> list[str]:
    folder = resources.files(PRESETS_PACKAGE)
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def preset_text(name: str) -> str:
    if name not in preset_names():
        raise ScenarioError(
            f"unknown preset {name!r}; allowed: {', '.join(preset_names())} "
            "(or a path to a .toml file)"
        )
    return resources.files(PRESETS_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")


def load_scenario(
    source: str | Path | Scenario, overrides: dict[str, Any] | None = None
) -> Scenario:
    """Load a preset name or a TOML path, resolve `extends`, apply overrides, and validate."""
    if isinstance(source, Scenario):
        if not overrides:
            return source
        raw, label = source.model_dump(mode="python"), f"scenario {source.name!r}"
    else:
        raw, label = _resolve(str(source), depth=0)
    if overrides:
        raw = merge(raw, overrides)
    return validate(raw, label)


def validate(raw: dict[str, Any], label: str) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as error:
        raise ScenarioError(_describe(error, raw, label)) from None


def merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `change` into `base`: tables merge; lists of named tables merge by `name`
    (an entry with `remove = true` drops that name, and `name = "*"` with it every inherited
    entry); other values replace."""
    out = copy.deepcopy(base)
    change = _primary_policy_change(out, change)
    for key, value in change.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge(old, value)
        elif _named_list(old) and _named_list(value):
            out[key] = _merge_named(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _primary_policy_change(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`policy` in a change names the primary (first score) policy of a base with `policies`;
    a base's `policy` becomes `policies` where the change gives `policies`."""
    if "policies" in change and isinstance(base.get("policy"), dict):
        base["policies"] = [{"type": "points", "name": "points", **base.pop("policy")}]
    policies = base.get("policies")
    if "policy" not in change or not isinstance(policies, list):
        return change
    change = dict(change)
    single = change.pop("policy")
    primary = next(
        (i for i, p in enumerate(policies) if isinstance(p, dict) and p.get("type") != "list"),
        None,
    )
    if primary is None or not isinstance(single, dict):
        change["policies"] = [single]
        return change
    policies = copy.deepcopy(policies)
    policies[primary] = merge(policies[primary], single)
    base["policies"] = policies
    return change


def scenario_hash(scenario: Scenario) -> str:
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def to_toml(scenario: Scenario) -> str:
    return tomli_w.dumps(_drop_none(scenario.model_dump(mode="json")))


def _resolve(source: str, depth: int) -> tuple[dict[str, Any], str]:
    if depth > MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"{source}: `extends` goes deeper than {MAX_EXTENDS_DEPTH} levels")
    path: Path | None = None
    if source.endswith(".toml") or "/" in source or "\\" in source:
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise ScenarioError(f"{label}: no such scenario file")
        text = path.read_text(encoding="utf-8")
    else:
        label = f"preset {source!r}"
        text = preset_text(source)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{label}: not valid TOML: {error}") from None
    parent = raw.pop("extends", None)
    if parent is None:
        return raw, label
    if not isinstance(parent, str):
        raise ScenarioError(f"{label}: field `extends` must be a preset name or a path (a string)")
    if parent.endswith(".toml") and not Path(parent).is_absolute() and path is not None:
        parent = str(path.parent / parent)
    try:
        base, _ = _resolve(parent, depth + 1)
    except ScenarioError as error:
        raise ScenarioError(f"{label}: field `extends`: {error}") from None
    return merge(base, raw), label


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and "name" in v for v in value)
    )


def _merge_named(old: list[dict], new: list[dict]) -> list[dict]:
    result = {item["name"]: copy.deepcopy(item) for item in old}
    for item in new:
        item = dict(item)
        if item["name"] == "*" and item.get("remove") is True:  # drop every inherited entry
            result.clear()
        elif item.pop("remove", False) is True:
            result.pop(item["name"], None)
        elif item["name"] in result:
            result[item["name"]] = merge(result[item["name"]], item)
        else:
            result[item["name"]] = copy.deepcopy(item)
    return list(result.values())


def _describe(error: ValidationError, raw: dict[str, Any], label: str) -> str:
    lines = []
    for item in error.errors():
        field = _field_path(item["loc"], raw)
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
            named = re.match(r"^([\w\[\]\.\-]+): (.*)$", message, flags=re.DOTALL)
            if named:
                inner, message = named.groups()
                field = f"{field}.{inner}" if field else inner
        if item["type"] == "extra_forbidden":
            message = f"unknown field; allowed: {_allowed_fields(item['loc'])}"
        elif (
            item["type"] != "missing"
            and "input" in item
            and not isinstance(item["input"], dict | list)
        ):
            message = f"{message} (got {item['input']!r})"
        lines.append(f"{label}: field `{field}`: {message}" if field else f"{label}: {message}")
    return "\n".join(lines)


def _field_path(loc: tuple, raw: Any) -> str:
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            name = None
            if isinstance(node, list) and 0 <= key < len(node) and isinstance(node[key], dict):
                name = node[key].get("name")
            parts.append(f"[{name}]" if name else f"[{key}]")
            node = node[key] if isinstance(node, list) and 0 <= key < len(node) else None
        else:
            parts.append(f".{key}" if parts else str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts)


def _allowed_fields(loc: tuple) -> str:
    model: Any = Scenario
    for key in loc[:-1]:
        if isinstance(key, int):
            continue
        field = model.model_fields.get(key)
        if field is None:
            break
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for candidate in candidates:
            inner = getattr(candidate, "__args__", None)
            for c in [candidate, *(inner or ())]:
                if isinstance(c, type) and hasattr(c, "model_fields"):
                    model = c
                    break
            else:
                continue
            break
    return ", ".join(model.model_fields)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
