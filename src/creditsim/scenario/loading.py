"""Scenario files: presets, `extends`, merging, and one clear message for any mistake."""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import re
import tomllib
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from pydantic import BaseModel, ValidationError

from creditsim.errors import shorten
from creditsim.scenario.errors import ScenarioError
from creditsim.scenario.paths import override_for, steps
from creditsim.scenario.schema import NAME_PATTERN, ListPolicy, Scenario
from creditsim.scenario.timeline import ALLOWED, ALLOWED_TEXT, Phases

PRESETS_PACKAGE = "creditsim.scenario.presets"
MAX_EXTENDS_DEPTH = 8
MAX_FILE_BYTES = 1_000_000  # a scenario is a small text file: the largest preset is 20 kB
MAX_NESTING = 16  # tables and arrays within each other; a scenario needs 6
MAX_LINES = 10  # mistakes named in one message; the rest are counted
MAX_SHOWN = 60  # characters of a value or a key that a message echoes
MAX_LABEL = 500  # characters of a file's path that a message echoes


def preset_names() -> list[str]:
    folder = resources.files(PRESETS_PACKAGE)
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def preset_text(name: str) -> str:
    if name not in preset_names():
        raise ScenarioError(
            f"unknown preset {_shown(name)}; allowed: {', '.join(preset_names())} "
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
        if not isinstance(overrides, dict):
            raise ScenarioError(
                f"{label}: overrides are a table of the scenario's fields (a dict), "
                f"not {type(overrides).__name__}"
            )
        _check_nesting(overrides, f"{label}: overrides")
        raw = _merged(raw, overrides, label)
    return validate(raw, label)


def validate(raw: dict[str, Any], label: str) -> Scenario:
    _check_nesting(raw, label)
    raw = _plain(raw)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as error:
        raise ScenarioError(_describe(error, raw, label)) from None
    if scenario.timeline:
        resolve(scenario, label)  # every phase checked now, so a bad one stops the load
    return scenario


def merge(base: dict[str, Any], change: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Deep-merge `change` into `base`: tables merge; lists of named tables merge by `name`
    (an entry with `remove = true` drops that name, and `name = "*"` with it every inherited
    entry); assumptions merge by `path` and timeline phases by `date` (a phase of the same date
    adds its settings to the inherited one's; the phases stay in date order); other values
    replace. `where` is the path of `base` in the scenario, for messages."""
    out = copy.deepcopy(base)
    change = _primary_policy_change(out, change)
    for key, value in change.items():
        here = f"{where}.{key}" if where else str(key)
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge(old, value, here)
        elif _named_list(old) and _named_list(value):
            out[key] = _merge_named(old, value, here)
        elif key in KEYED_LISTS and _keyed_list(old, KEYED_LISTS[key]):
            out[key] = _merge_keyed(old, value, KEYED_LISTS[key])
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
    policies[primary] = merge(policies[primary], single, "policy")
    base["policies"] = policies
    return change


def scenario_hash(scenario: Scenario) -> str:
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def to_toml(scenario: Scenario) -> str:
    return tomli_w.dumps(_drop_none(scenario.model_dump(mode="json")))


# --- reading files --------------------------------------------------------------------------------


def _resolve(source: str, depth: int) -> tuple[dict[str, Any], str]:
    if depth > MAX_EXTENDS_DEPTH:
        raise ScenarioError(
            f"{shorten(source, MAX_LABEL)}: `extends` goes deeper than {MAX_EXTENDS_DEPTH} levels"
        )
    path: Path | None = None
    if source.endswith(".toml") or "/" in source or "\\" in source:
        path = Path(source)
        label = shorten(str(path), MAX_LABEL)
        text = _read(path, label)
    else:
        text = preset_text(source)
        label = f"preset {source!r}"
    try:
        raw = _parsed(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{label}: not valid TOML: {error}") from None
    except RecursionError:
        raise ScenarioError(
            f"{label}: not valid TOML for a scenario: arrays or tables nested too deeply "
            f"(a scenario needs at most {MAX_NESTING} levels)"
        ) from None
    except ValueError:  # an integer of more digits than Python reads
        raise ScenarioError(f"{label}: not valid TOML for a scenario: a number too long") from None
    _check_nesting(raw, label)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw, label
    if not isinstance(parent, str):
        raise ScenarioError(
            f"{label}: field `extends`: must be a preset name or a path to a .toml file "
            f"(a string; got {_shown(parent)})"
        )
    if parent.endswith(".toml") and not Path(parent).is_absolute() and path is not None:
        parent = str(path.parent / parent)
    try:
        base, _ = _resolve(parent, depth + 1)
    except ScenarioError as error:
        raise ScenarioError(f"{label}: field `extends`: {error}") from None
    return _merged(base, raw, label), label


def _parsed(text: str) -> dict[str, Any]:
    """The TOML `text` as a table of its own (the caller may change it): a scenario read again
    in the same process (the command line checks it before the run loads it) is parsed once."""
    return copy.deepcopy(_parsed_once(text))


@functools.lru_cache(maxsize=32)
def _parsed_once(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def _read(path: Path, label: str) -> str:
    """The text of a scenario file, or one message saying why there is none."""
    try:
        folder, found = path.is_dir(), path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL character
        folder = found = False
    if folder:
        raise ScenarioError(f"{label}: a folder, not a scenario file")
    if not found:
        raise ScenarioError(f"{label}: no such scenario file")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ScenarioError(f"{label}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{label}: larger than {MAX_FILE_BYTES:,} bytes; a scenario is a small TOML file"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ScenarioError(
            f"{label}: not UTF-8 text (byte {error.start}: {data[error.start]:#04x}); "
            "a scenario is a TOML file, which must be UTF-8"
        ) from None


def _check_nesting(raw: Any, label: str) -> None:
    """Refuse tables and arrays nested deeper than any scenario needs (before anything
    recursive reads them)."""
    stack: list[tuple[Any, int, tuple]] = [(raw, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_NESTING:
            field = _path_text(path[:4]) + "..."
            raise ScenarioError(
                f"{label}: field `{field}`: tables and arrays nested deeper than "
                f"{MAX_NESTING} levels; a scenario needs at most 6"
            )
        if isinstance(node, dict):
            stack.extend((v, depth + 1, (*path, k) if depth < 4 else path) for k, v in node.items())
        elif isinstance(node, list | tuple):
            stack.extend(
                (v, depth + 1, (*path, i) if depth < 4 else path) for i, v in enumerate(node)
            )


def _path_text(path: tuple) -> str:
    text = ""
    for part in path:
        text += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{shorten(str(part), MAX_SHOWN)}" if text else shorten(str(part), MAX_SHOWN))
        )
    return text


def _plain(value: Any) -> Any:
    """Plain Python values: NumPy scalars become the numbers and flags they hold, tuples lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# --- merging --------------------------------------------------------------------------------------


def _merged(base: dict[str, Any], change: dict[str, Any], label: str) -> dict[str, Any]:
    try:
        return merge(base, change)
    except ScenarioError as error:
        raise ScenarioError(f"{label}: {error}") from None


KEYED_LISTS = {"assumptions": "path", "timeline": "date"}  # lists merged by a key, not a name


def _keyed_list(value: Any, key: str) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) and key in v for v in value)


def _merge_keyed(old: list[dict], new: Any, key: str) -> Any:
    """`new`'s entries replace `old`'s of the same key (a phase's settings are added to the
    inherited phase's); the others are kept; in order of the key. Anything but a list of
    tables with the key is left for validation to refuse."""
    if not _keyed_list(new, key) or not new:  # an empty list clears what is inherited
        return copy.deepcopy(new)
    merged = {str(item[key]): copy.deepcopy(item) for item in old}  # a date and its ISO text
    for item in new:
        here = str(item[key])
        inherited, added = merged.get(here, {}).get("set"), item.get("set") or {}
        if key == "date" and isinstance(inherited, dict) and isinstance(added, dict):
            settings = {**inherited, **added}
            merged[here] = {**merged[here], **copy.deepcopy(item), "set": settings}
        else:
            merged[here] = copy.deepcopy(item)
    return sorted(merged.values(), key=lambda item: str(item[key]))  # ISO dates sort as text


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and "name" in v for v in value)
    )


def _merge_named(old: list[dict], new: list[dict], where: str = "") -> list[dict]:
    for index, item in enumerate([*old, *new]):
        if not isinstance(item["name"], str):
            place = f"{where}[{index if index < len(old) else index - len(old)}]"
            raise ScenarioError(
                f"field `{place}.name`: Input should be a valid string, the entry's name "
                f"(got {_shown(item['name'])})"
            )
    result = {item["name"]: copy.deepcopy(item) for item in old}
    for item in new:
        item = dict(item)
        name = item["name"]
        field = f"{where}[{shorten(name, MAX_SHOWN)}]"
        remove = item.pop("remove", False)
        if not isinstance(remove, bool):
            raise ScenarioError(
                f"field `{field}.remove`: Input should be true or false (got {_shown(remove)})"
            )
        if not remove:
            result[name] = (
                merge(result[name], item, field) if name in result else copy.deepcopy(item)
            )
            continue
        others = sorted(set(item) - {"name"})
        if others:
            raise ScenarioError(
                f"field `{field}.remove`: an entry removed must have no other fields "
                f"(got {', '.join(shorten(str(o), MAX_SHOWN) for o in others)})"
            )
        if name == "*":  # drop every inherited entry
            result.clear()
        elif name in result:
            del result[name]
        else:
            raise ScenarioError(
                f"field `{field}.remove`: no inherited entry named {_shown(name)} to remove; "
                f"allowed: {', '.join(result) if result else 'none'}"
            )
    return list(result.values())


# --- messages -------------------------------------------------------------------------------------

# Messages of the validation library said in the scenario file's own words.
TABLE_TYPES = {"model_type", "model_attributes_type", "dict_type"}
NOT_ECHOED = {"missing", "extra_forbidden", "value_error", "assertion_error"}
NAME_RULE = (
    "Input should be a name: 1 to 64 lower-case letters, digits, '_' and '-', beginning with a "
    "letter or a digit"
)


def _describe(error: ValidationError, raw: dict[str, Any], label: str) -> str:
    found: list[tuple[str, str, bool]] = []
    for item in error.errors():
        field, message, alternative = _explain(item, raw)
        if alternative and found and found[-1][0] == field and found[-1][2]:
            # One alternative of a value of either kind (`citizen_rows`: "all", "none", or a
            # fraction): one line for the field.
            previous = found[-1][1].rsplit(" (got ", 1)[0]
            found[-1] = (field, f"{previous}, or {_alternative(message)}", True)
        else:
            found.append((field, message, alternative))
    lines = [f"{label}: field `{field}`: {message}" if field else f"{label}: {message}"
             for field, message, _ in found[:MAX_LINES]]  # fmt: skip
    if len(found) > MAX_LINES:
        lines.append(f"{label}: and {len(found) - MAX_LINES} more mistakes")
    return "\n".join(lines)


def _alternative(message: str) -> str:
    return message[len("Input should be ") :] if message.startswith("Input should be ") else message


def _explain(item: Any, raw: dict[str, Any]) -> tuple[str, str, bool]:
    """(field, message, whether it is one alternative of a union) for one validation error."""
    place = _locate(tuple(item["loc"]), raw)
    field, kind, message = place.field, item["type"], item["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
        named = re.match(r"^([\w\[\]\.\-]+): (.*)$", message, flags=re.DOTALL)
        if named:
            inner, message = named.groups()
            field = f"{field}.{inner}" if field else inner
    if kind == "extra_forbidden":
        owner = place.owner or Scenario
        return field, f"unknown field; allowed: {', '.join(owner.model_fields)}", False
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = ", ".join(repr(tag) for tag in place.tags)
        node = place.node if isinstance(place.node, dict) else {}
        tag = _discriminator(item)
        got = f" (got {_shown(node[tag])})" if tag in node else ""
        what = "Input should be one of" if tag in node else "Field required; allowed:"
        return f"{field}.{tag}", f"{what} {tags}{got}", False
    if kind in TABLE_TYPES:
        message = "Input should be a table"
    elif kind == "list_type":
        message = "Input should be an array"
    elif (
        kind == "string_pattern_mismatch" and (item.get("ctx") or {}).get("pattern") == NAME_PATTERN
    ):
        message = NAME_RULE
    if place.key is not None:
        if kind == "literal_error":
            expected = (item.get("ctx") or {}).get("expected", "")
            message = f"unknown key {_shown(place.key)}; allowed: {expected}"
        else:
            message = f"key {_shown(place.key)}: {message}"
        return field, message, place.alternative
    value = item.get("input")
    if kind not in NOT_ECHOED and "input" in item:
        if isinstance(value, dict | list):
            if kind.endswith("_type") or kind == "literal_error":
                message = f"{message} (got {'a table' if isinstance(value, dict) else 'an array'})"
        else:
            message = f"{message} (got {_shown(value)})"
    return field, message, place.alternative


def _discriminator(item: Any) -> str:
    quoted = (item.get("ctx") or {}).get("discriminator", "'type'")
    return str(quoted).strip("'\"")


@dataclasses.dataclass
class _Place:
    field: str  # as a scenario file's reader would name it: `policies[national].grades[0]`
    owner: Any  # the model whose fields the last name was looked up in
    node: Any  # the raw value there
    key: Any = None  # a mapping's key that is itself wrong
    alternative: bool = False  # the error is about one alternative of a union
    tags: tuple = ()  # the tags of the discriminated union there


def _locate(loc: tuple, raw: Any) -> _Place:
    """Walk the schema along a validation error's location: the field as the file names it
    (entries of named lists by name; a union's alternatives, which the location names, left
    out) and the model the field belongs to."""
    parts: list[str] = []
    node, kind, owner = raw, Scenario, None
    alternative, key, last = False, None, None
    for part in loc:
        if part == "[key]" and parts:  # the key of a mapping is wrong, not its value
            parts.pop()
            key = last
            continue
        last = part
        members = _members(kind)
        if len(members) > 1:  # the validation library names the alternative of a union tried
            kind = next((m for m in members if _tagged(m, part)), None)
            alternative = True
            continue
        kind = members[0] if members else None
        alternative = False
        origin = typing.get_origin(kind)
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            named = isinstance(name, str) and re.fullmatch(r"[\w\-]{1,64}", name)
            parts.append(f"[{name}]" if named else f"[{part}]")
            node = item
            kind = typing.get_args(kind)[0] if origin is list else None
            continue
        parts.append(
            f".{shorten(str(part), MAX_SHOWN)}" if parts else shorten(str(part), MAX_SHOWN)
        )
        if _is_model(kind):
            owner = kind
            field = kind.model_fields.get(part)
            kind = field.annotation if field is not None else None
        elif origin is dict:
            kind = typing.get_args(kind)[1]
        else:
            kind = None
        node = node.get(part) if isinstance(node, dict) else None
    members = _members(kind)
    tags = tuple(t for m in members for t in _tags(m)) if len(members) > 1 else ()
    return _Place("".join(parts), owner, node, key, alternative, tags)


def _unwrap(kind: Any) -> Any:
    while typing.get_origin(kind) is typing.Annotated:
        kind = typing.get_args(kind)[0]
    return kind


def _members(kind: Any) -> list[Any]:
    """The alternatives of a union (None left out), or the type itself."""
    kind = _unwrap(kind)
    if kind is None:
        return []
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return [_unwrap(m) for m in typing.get_args(kind) if m is not type(None)]
    return [kind]


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _tags(kind: Any) -> list[str]:
    """The values of a model's single-valued literal fields: its tags in a discriminated union."""
    if not _is_model(kind):
        return []
    out = []
    for field in kind.model_fields.values():
        if typing.get_origin(field.annotation) is typing.Literal:
            values = typing.get_args(field.annotation)
            if len(values) == 1:
                out.append(values[0])
    return out


def _tagged(kind: Any, tag: Any) -> bool:
    return tag in _tags(kind)


def _shown(value: Any) -> str:
    """A value as a message echoes it: its repr, cut short."""
    try:
        text = repr(value)
    except ValueError:  # an integer of more digits than Python prints
        return "a number of thousands of digits"
    return shorten(text, MAX_SHOWN)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


# ------------------------------------------------------------------------------- the timeline


def resolve(scenario: Scenario, label: str = "") -> Phases:
    """The scenario in force in each phase of its timeline; a bad phase is a ScenarioError
    naming the phase, the field and what is allowed."""
    start = scenario.run.start_date
    base = scenario.model_copy(update={"timeline": []})
    if not scenario.timeline:
        return Phases((0,), (scenario,), start)
    where = label or f"scenario {scenario.name!r}"
    days, scenarios, current = [0], [base], base
    for index, phase in enumerate(scenario.timeline):
        place = f"{where}: timeline[{index}] ({phase.date})"
        try:
            for path in phase.set:
                _check_allowed(current, path)
            current = load_scenario(current, override_for(current, phase.set))
        except ScenarioError as error:
            raise ScenarioError(f"{place}: {_culprit(current, phase.set, error)}") from None
        days.append((phase.date - start).days)
        scenarios.append(current)
    return Phases(tuple(days), tuple(scenarios), start)


def _culprit(scenario: Scenario, settings: dict[str, Any], error: ScenarioError) -> str:
    """The message of a phase that does not load, naming the setting that breaks it (each is
    tried alone; a rule across settings is named by the whole error)."""
    for path, value in settings.items():
        try:
            _check_allowed(scenario, path)
            load_scenario(scenario, override_for(scenario, {path: value}))
        except ScenarioError as alone:
            return f"`{path}` = {_shown(value)}: {_without_label(str(alone))}"
    return _without_label(str(error))


def _check_allowed(scenario: Scenario, path: str) -> None:
    walk = steps(scenario, path)
    head = walk[0][1]
    if head == "policies" and len(walk) > 1:
        policy = next(p for p in scenario.policies if p.name == walk[1][1])
        if isinstance(policy, ListPolicy) or (len(walk) > 2 and walk[2][1] == "points"):
            return
    fields = ALLOWED.get(head, set())
    if head in ALLOWED and (fields is None or _field_of(walk, head) in fields):
        return
    raise ScenarioError(
        f"field `{path}` cannot change during a run; a phase may set {ALLOWED_TEXT}"
    )


def _field_of(walk: list[tuple[str, str]], head: str) -> str:
    """The field a path sets within its table: behaviours.NAME.FIELD, regions.NAME.FIELD,
    response.FIELD."""
    if head in ("behaviours", "regions"):
        return walk[2][1] if len(walk) > 2 else ""
    return walk[1][1] if len(walk) > 1 else ""


def _without_label(message: str) -> str:
    """A message from loading a phase, without its "scenario 'x': " prefix (the place says)."""
    head, colon, rest = message.partition(": ")
    return rest if colon and head.startswith("scenario ") else message
