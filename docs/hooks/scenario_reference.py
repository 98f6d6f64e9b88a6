"""MkDocs hook: the scenario file reference, generated from the schema as the site builds.

`src/creditsim/scenario/schema.py` is the one definition of a scenario: the page
`guide/scenario-reference.md` holds a marker that this hook replaces with one section per table
of a scenario file (walked from `Scenario` down), each field with its type, bounds, default and
description, so that the reference cannot disagree with the code. Defaults are those in force
where the table sits (`channels.court` has another default detection rate than
`channels.transport`, though both are the same kind of table).

`sections()` is also what `tests/test_docs.py` reads to check that every field is documented.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel

MARKER = "<!-- scenario-reference -->"
NAME_PATTERN_WORDS = "name (`a-z`, `0-9`, `_`, `-`; 1 to 64 characters)"


@dataclass
class Row:
    name: str
    type: str
    default: str
    description: str


@dataclass
class Section:
    path: str  # as written in a scenario file: `channels.camera`, `sanctions[].trigger`
    model: type[BaseModel]
    title: str
    doc: str
    anchor: str
    rows: list[Row] = field(default_factory=list)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render(sections()))


# ------------------------------------------------------------------------------------- walking


def sections() -> list[Section]:
    from creditsim.scenario.descriptions import describe_fields
    from creditsim.scenario.schema import Scenario

    describe_fields()
    out: list[Section] = []
    _walk(Scenario, "", "The scenario (top level)", None, out, "ref-scenario")
    return out


def _anchor(path: str, label: str | None = None) -> str:
    words = path.replace("[]", "").replace(".", "-").replace("_", "-")
    return f"ref-{words}" + (f"-{label}" if label else "")


def _walk(model, path: str, title: str, instance, out: list[Section], anchor: str) -> None:
    if any(seen.anchor == anchor for seen in out):  # a table met again (policies' grades)
        return
    section = Section(path, model, title, _doc(model), anchor)
    out.append(section)
    nested: list[tuple[Any, str, str, Any, str]] = []
    for name, info in model.model_fields.items():
        default_value = _default_of(info, instance, name)
        here = f"{path}.{name}" if path else name
        models, shape = _models_in(info.annotation)
        section.rows.append(
            Row(
                name,
                _type_text(info.annotation, info.metadata, models, here, shape),
                _default_text(info, default_value, models),
                (info.description or "").strip(),
            )
        )
        if not models:
            continue
        if shape == "list":
            for member in models:
                label = _member_label(member)
                title = _list_title(here, member, label)
                nested.append((member, f"{here}[]", title, None, _anchor(here, label)))
        else:
            member = models[0]
            child = default_value if isinstance(default_value, BaseModel) else None
            nested.append((member, here, f"`{here}`", child, _anchor(here)))
    for member, where, heading, child, anchor in nested:
        _walk(member, where, heading, child, out, anchor)


def _default_of(info, instance, name: str):
    if instance is not None:
        return getattr(instance, name)
    if info.is_required():
        return _REQUIRED
    if info.default_factory is not None:
        return info.default_factory()
    return info.default


_REQUIRED = object()


def _doc(model) -> str:
    doc = model.__dict__.get("__doc__") or ""
    return " ".join(line.strip() for line in doc.strip().splitlines())


def _member_label(member) -> str | None:
    kind = member.model_fields.get("type")
    if kind is not None and typing.get_origin(kind.annotation) is Literal:
        return typing.get_args(kind.annotation)[0]
    return None


def _list_title(path: str, member, label: str | None) -> str:
    if "[]" in path:  # an array inside an array of tables: an inline array of tables
        return f"`{path}[]`"
    if label is None:
        return f"`[[{path}]]`"
    return f'`[[{path}]]` with `type = "{label}"`'


def _strip(annotation):
    """The annotation without Annotated, and the metadata that Annotated carried."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is Annotated:
        args = typing.get_args(annotation)
        annotation = args[0]
        for extra in args[1:]:
            metadata.extend(getattr(extra, "metadata", [extra]))
            pattern = getattr(extra, "pattern", None)  # a FieldInfo holds its pattern apart
            if pattern is not None:
                metadata.append(extra)
    return annotation, metadata


def _union_args(annotation) -> tuple | None:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return typing.get_args(annotation)
    return None


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _models_in(annotation) -> tuple[list, str]:
    """The models a field holds, and how: ("one", a table) or ("list", an array of tables)."""
    annotation, _ = _strip(annotation)
    members = _union_args(annotation)
    if members is not None:
        inner = [m for m in members if m is not type(None)]
        if len(inner) == 1:
            return _models_in(inner[0])
        if all(_is_model(m) for m in inner):
            return list(inner), "one"
        return [], ""
    if _is_model(annotation):
        return [annotation], "one"
    if typing.get_origin(annotation) is list:
        item, _ = _strip(typing.get_args(annotation)[0])
        options = _union_args(item) or (item,)
        if all(_is_model(m) for m in options):
            return list(options), "list"
    return [], ""


# ------------------------------------------------------------------------------------ writing


def _bounds(metadata) -> list[str]:
    words = []
    for item in metadata:
        for attribute, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(item, attribute, None)
            if value is not None:
                words.append(f"{symbol} {_number(value)}")
        low = getattr(item, "min_length", None)
        high = getattr(item, "max_length", None)
        if low is not None:
            words.append(f"at least {low:,}")
        if high is not None:
            words.append(f"at most {high:,}")
    return words


def _has_name_pattern(metadata) -> bool:
    from creditsim.scenario.schema import NAME_PATTERN

    return any(getattr(item, "pattern", None) == NAME_PATTERN for item in metadata)


def _number(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:g}"
    return str(value)


def _describe(annotation, metadata=()) -> str:
    """A type in words, with its bounds."""
    annotation, inner = _strip(annotation)
    metadata = [*metadata, *inner]
    members = _union_args(annotation)
    if members is not None:
        return " or ".join(_describe(m) for m in members if m is not type(None))
    origin = typing.get_origin(annotation)
    if origin is Literal:
        values = [f'`"{v}"`' for v in typing.get_args(annotation)]
        return values[0] if len(values) == 1 else "one of " + ", ".join(values)
    if origin is list:
        item = _describe(typing.get_args(annotation)[0])
        bounds = _bounds(metadata)
        size = f" ({', '.join(bounds)} items)" if bounds else ""
        return f"list of {item}{size}"
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"table: {_describe(key)} → {_describe(value)}"
    if _is_model(annotation):
        return f"table `{annotation.__name__}`"
    bounds = _bounds(metadata)
    if annotation is str and _has_name_pattern(metadata):
        return NAME_PATTERN_WORDS
    base = {int: "whole number", float: "number", bool: "true or false", str: "text"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )
    if annotation is str and bounds:
        return f"{base} ({', '.join(bounds)} characters)"
    return f"{base}, {', '.join(bounds)}" if bounds else base


def _type_text(annotation, metadata, models, path: str, shape: str) -> str:
    if models and shape == "list":
        first = _anchor(path, _member_label(models[0]))
        bounds = _bounds(metadata)
        return f"array of tables, see [`[[{path}]]`](#{first})" + (
            f" ({', '.join(bounds)})" if bounds else ""
        )
    if models:
        if len(models) == 1:
            return f"table, see [`{path}`](#{_anchor(path)})"
        return "table: " + " or ".join(f"`{m.__name__}`" for m in models)
    return _describe(annotation, metadata)


def _default_text(info, value, models) -> str:
    if value is _REQUIRED:
        return "**required**"
    if isinstance(value, BaseModel):
        return "its fields' defaults"
    if models and isinstance(value, list) and not value:
        return "none"
    if value is None:
        return "not set"
    return f"`{_toml(value)}`"


def _toml(value) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, BaseModel):
        return _toml(value.model_dump())
    return str(value)


def render(found: list[Section]) -> str:
    """Each table as a heading, its description, and a definition list of its fields: the name,
    type and bounds, and default as the term; the description as the definition (a list reads
    as well on a phone as on a desktop, where a wide table would not)."""
    lines: list[str] = []
    for section in found:
        lines.append(f"### {section.title} {{ #{section.anchor} }}")
        lines.append("")
        if section.doc:
            lines.append(section.doc)
            lines.append("")
        for row in section.rows:
            plain = row.default in ("**required**", "its fields' defaults")
            default = row.default if plain else f"default {row.default}"
            lines.append(f"**`{row.name}`** · {_one_line(row.type)} · {default}")
            lines.append(f":   {_one_line(row.description) or '(no description)'}")
            lines.append("")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())
