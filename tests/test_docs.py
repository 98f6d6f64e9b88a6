"""The documentation's promises that can be checked without building the site: every field of a
scenario has a description (the scenario reference is generated from them), the generated
reference covers every field, and the tutorials' outputs are rendered as a reader would see them.

The site itself is built with `mkdocs build --strict` in .ci/run, which runs every tutorial.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from creditsim.scenario.descriptions import describe_fields
from creditsim.scenario.schema import Scenario

HOOKS = Path(__file__).resolve().parent.parent / "docs" / "hooks"


def _hook(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", HOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _models_in(annotation) -> list[type[BaseModel]]:
    """Every model class an annotation holds: directly, in a union, a list, a dict, Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _fields(model: type[BaseModel], path: str, seen: set[tuple[type, str]]):
    """(dotted path, field info) of every field reachable from `model`, each model once."""
    for name, info in model.model_fields.items():
        here = f"{path}.{name}" if path else name
        if (model, name) in seen:
            continue
        seen.add((model, name))
        yield here, info
        for inner in _models_in(info.annotation):
            yield from _fields(inner, f"{here}[{inner.__name__}]", seen)


def test_every_scenario_field_has_a_description():
    describe_fields()
    fields = list(_fields(Scenario, "", set()))
    assert len(fields) > 100  # the walk reaches the nested tables
    missing = [path for path, info in fields if not (info.description or "").strip()]
    assert not missing, (
        f"{len(missing)} scenario fields have no description (Field(description=...) in "
        f"src/creditsim/scenario/schema.py; the scenario reference is generated from them): "
        + ", ".join(missing)
    )


def test_the_generated_reference_covers_every_field():
    reference = _hook("scenario_reference")
    sections = reference.sections()
    documented = {(section.model, row.name) for section in sections for row in section.rows}
    reached = {(model, name) for model, name in _model_fields(Scenario, set())}
    assert reached <= documented, f"fields missing from the reference: {reached - documented}"
    page = reference.on_page_markdown(reference.MARKER, None, None, None)
    assert "(no description)" not in page
    assert "### `channels.camera`" in page and "`fpir_multiplier_by_group`" in page
    # Defaults are those in force where the table sits: the court's, not the class's.
    court = next(s for s in sections if s.path == "channels.court")
    assert next(r for r in court.rows if r.name == "detect_rate").default == "`0.8`"


def _model_fields(model: type[BaseModel], seen: set[type]):
    if model in seen:
        return
    seen.add(model)
    for name, info in model.model_fields.items():
        yield model, name
        for inner in _models_in(info.annotation):
            yield from _model_fields(inner, seen)


def test_progress_bars_are_shown_as_a_terminal_would_leave_them():
    notebooks = _hook("notebooks")
    bar = "\x1b[?25l\r\x1b[2K\x1b[1msimulating\x1b[0m 10%\r\x1b[2Ksimulating 90%\r\x1b[2K\x1b[?25h"
    assert notebooks._as_terminal(bar) == ""
    assert notebooks._as_terminal("a \x1b[1mbold\x1b[0m OK\nnext\n") == "a bold OK\nnext\n"
    assert notebooks._as_terminal("one\ntwo\x1b[1A\x1b[2Kthree") == "three"


def test_a_notebook_renders_as_markdown_with_its_outputs():
    notebooks = _hook("notebooks")
    cell = types.SimpleNamespace
    notebook = cell(
        cells=[
            cell(cell_type="markdown", source="# A title\n\nText.", metadata={}),
            cell(
                cell_type="code",
                source="print('x ``` y')",
                metadata={"alt": "a figure"},
                get=lambda key, default=None: [
                    cell(output_type="stream", name="stdout", text="x ``` y\n"),
                    cell(
                        output_type="display_data",
                        get=lambda key, default=None: (
                            {"image/png": "aGVsbG8="} if key == "data" else {}
                        ),
                    ),
                ],
            ),
            cell(cell_type="code", source="%%bash\necho hi", metadata={}, get=lambda *a: []),
        ]
    )
    page = notebooks.render(notebook, "example", 1.0)
    assert page.startswith("# A title\n\n!!! info")
    assert 'href="example.ipynb"' in page
    assert "````text\nx ``` y\n````" in page  # a fence longer than any run of backticks inside
    assert '<img src="data:image/png;base64,aGVsbG8=" alt="a figure">' in page
    assert "```bash\necho hi\n```" in page


def test_a_fields_description_is_the_string_under_it_the_subclasss_own_first():
    """Read from the source on demand: a policy's own string wins over its base's."""
    from creditsim.scenario.schema import FicoPolicy, RunSettings

    describe_fields()
    assert RunSettings.model_fields["population"].description == (
        "Citizens to simulate (the CLI's --population overrides it)."
    )
    assert FicoPolicy.model_fields["maximum"].description == "The highest score (FICO: 850)."
