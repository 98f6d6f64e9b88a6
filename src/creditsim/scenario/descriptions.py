"""Each scenario field's description: the string written under the field in `schema.py`.

The strings are read from the source on demand (the scenario reference, its test), not when
the models are built: reading and parsing every model's source at import would cost every start
of creditsim a few hundredths of a second for text only the documentation shows.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap

from pydantic import BaseModel

from creditsim.scenario.schema import Model


def describe_fields() -> None:
    """Give every field of every scenario model the string under it as its description, where
    `Field(description=...)` gave none. Idempotent."""
    for model in _models(Model):
        for owner in model.__mro__:  # the most derived first: its string wins
            if owner is Model or not issubclass(owner, Model):
                continue
            for name, text in _docstrings(owner).items():
                info = model.model_fields.get(name)
                if info is not None and not info.description:
                    info.description = text


def _models(base: type[BaseModel]) -> list[type[BaseModel]]:
    found = []
    for model in base.__subclasses__():
        found += [model, *_models(model)]
    return found


@functools.cache
def _docstrings(model: type[BaseModel]) -> dict[str, str]:
    """{field: the string literal right after its annotated assignment} in the class body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    found = {}
    for statement, following in zip(body, body[1:], strict=False):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[statement.target.id] = inspect.cleandoc(following.value.value)
    return found
