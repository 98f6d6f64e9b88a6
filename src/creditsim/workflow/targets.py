"""Published figures as calibration targets, and the gap between a run and them.

A target names a reference id (shared/reference/published-figures.*), the audit metric it is
compared with (a dotted path into the audit), the published value, and the reading it takes:
every run is scaled from its citizens to the 1.4 billion the figures count, and a yearly figure
is divided by the run's years. A target with a `year` reads that calendar year's figure from the
audit's `by_year` section instead. Its `tolerance` is how far, as a standard deviation of the log
ratio of model to published figure, the fit lets the model stray (0.1: about 10 per cent); a
`held_out` target is not fitted, only shown beside the fit as validation. `[[constraints]]` state
what is plausible (`increasing = [a, b, c]`: a <= b <= c), enforced in the calibration's prior.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from creditsim.audit.disparity import POPULATION
from creditsim.errors import CreditsimError

TARGETS_FOLDER = "target_files"  # beside this module, shipped with the package


class TargetError(CreditsimError):
    """A targets file that cannot be used; the message names the file and the field."""


class Target(BaseModel):
    """One published figure and how a run is read against it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    metric: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-:]+)*$")
    value: float = Field(gt=0)
    unit: str = ""
    per_year: bool = True  # a target with a year is never divided (it is one year's figure)
    reading: str = ""
    weight: float = Field(default=1.0, gt=0)
    tolerance: float = Field(default=0.1, gt=0, le=5)  # sd of log(model / published)
    held_out: bool = False  # shown beside the fit as validation, never fitted
    year: int | None = Field(default=None, ge=1900, le=2200)  # read from the audit's by_year

    @model_validator(mode="after")
    def _year_is_one_year(self) -> Target:
        if self.year is not None and "per_year" in self.model_fields_set and self.per_year:
            raise ValueError(
                "per_year: a target with a year compares that calendar year's figure; leave "
                "per_year out (or false)"
            )
        return self

    @property
    def path(self) -> str:
        """The dotted path into the audit: under `by_year.<year>` for a dated target."""
        return self.metric if self.year is None else f"by_year.{self.year}.{self.metric}"

    @property
    def yearly(self) -> bool:
        """Whether the run's figure is divided by its years."""
        return self.per_year and self.year is None


class Constraint(BaseModel):
    """What is plausible, as an order: `increasing = [a, b, c]` keeps a <= b <= c (each path a
    fitted parameter or a field the scenario sets). Enforced in the prior: a point that breaks
    it is never run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    increasing: list[str] = Field(min_length=2)
    reason: str = ""

    @model_validator(mode="after")
    def _distinct(self) -> Constraint:
        if any(not path.strip() for path in self.increasing):
            raise ValueError("increasing: an empty path; give dotted paths to scenario fields")
        if len(set(self.increasing)) != len(self.increasing):
            raise ValueError("increasing: a path given twice; give each path once")
        return self


class Parameter(BaseModel):
    """A scenario field to fit, by its dotted path (as `creditsim sweep --set` names it), within
    bounds; `log` searches the range on a log scale (for rates spanning orders of magnitude)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> Parameter:
        if not self.low < self.high:
            raise ValueError(f"low: must be below high ({self.low} >= {self.high})")
        if self.log and self.low <= 0:
            raise ValueError("low: a log scale needs a positive low bound")
        return self


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: str | None = None
    targets: list[Target] = Field(min_length=1)
    parameters: list[Parameter] = Field(default_factory=list)  # what `calibrate` fits by default
    constraints: list[Constraint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _usable(self) -> Targets:
        ids = [target.id for target in self.targets]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"targets: id {twice[0]!r} given twice; give each target once")
        if all(target.held_out for target in self.targets):
            raise ValueError("targets: every target is held out; at least one must be fitted")
        paths = [p.path for p in self.parameters]
        doubled = sorted({p for p in paths if paths.count(p) > 1})
        if doubled:
            raise ValueError(f"parameters: {doubled[0]!r} given twice; give each path once")
        return self

    @property
    def fitted(self) -> list[Target]:
        """The targets the fit uses (the held-out ones are only shown)."""
        return [target for target in self.targets if not target.held_out]


def shipped_targets() -> list[str]:
    """Scenario names that ship a targets file."""
    folder = _folder()
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def _folder():
    return resources.files("creditsim.workflow").joinpath(TARGETS_FOLDER)


def load_targets(source: str | Path) -> Targets:
    """A targets file by path, or the one shipped for a scenario name."""
    text_source = str(source)
    if text_source in shipped_targets():
        label = f"targets for {text_source!r}"
        text = _folder().joinpath(f"{text_source}.toml").read_text(encoding="utf-8")
    else:
        path = Path(source)
        label = str(path)
        if not text_source.endswith(".toml") and "/" not in text_source:
            raise TargetError(
                f"no targets shipped for {text_source!r}; give a targets file "
                f"(--targets FILE.toml; shipped: {', '.join(shipped_targets())})"
            )
        if not path.is_file():
            raise TargetError(
                f"{label}: no such targets file (shipped: {', '.join(shipped_targets())})"
            )
        text = path.read_text(encoding="utf-8")
    try:
        return Targets.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as error:
        raise TargetError(f"{label}: not valid TOML: {error}") from None
    except ValidationError as error:
        raise TargetError(f"{label}: {_first_problem(error)}") from None


def _first_problem(error: ValidationError) -> str:
    """The first problem of a targets file in words: an unknown field first (a misspelt name
    also makes its right name missing), with the fields allowed in its table."""
    problems = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = problems[0]
    field = ".".join(str(part) for part in first["loc"])
    if first["type"] != "extra_forbidden":
        return f"field `{field}`: {first['msg']}"
    tables = {"targets": Target, "parameters": Parameter, "constraints": Constraint}
    model = tables.get(str(first["loc"][0]), Targets) if len(first["loc"]) > 1 else Targets
    return f"field `{field}`: unknown field; allowed: {', '.join(model.model_fields)}"


def raw_value(audit: dict[str, Any], path: str) -> int | float:
    """The number at a dotted path of the audit, e.g. `overall.lists.debtors.sanctioned`, as
    the audit holds it (an int for a count)."""
    node: Any = audit
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            where = "" if part != "by_year" else " (calendar years need a run with a start date)"
            raise TargetError(f"metric {path!r}: the audit has no {part!r} there{where}")
        node = node[part]
    if not isinstance(node, int | float) or isinstance(node, bool):
        raise TargetError(f"metric {path!r}: not a number in the audit")
    return node


def metric_value(audit: dict[str, Any], path: str) -> float:
    """The number at a dotted path of the audit, as a float."""
    return float(raw_value(audit, path))


def modelled(audit: dict[str, Any], target: Target, years: float) -> float:
    """The run's number on the target's scale: 1.4 billion citizens, and per year if asked."""
    citizens = audit["overall"]["citizens"]
    value = metric_value(audit, target.path) * POPULATION / max(citizens, 1)
    return value / years if target.yearly else value


def gap_table(audit: dict[str, Any], targets: Targets, years: float) -> list[dict[str, Any]]:
    """One row per target: the published figure, the model's, and the gap between them."""
    return [gap_row(target, modelled(audit, target, years)) for target in targets.targets]


def gap_row(target: Target, model: float) -> dict[str, Any]:
    """A target's published figure beside the model's, with the gap and the ratio."""
    return {
        "id": target.id,
        "year": target.year,
        "held_out": target.held_out,
        "unit": target.unit,
        "published": target.value,
        "model": model,
        "gap": model - target.value,
        "ratio": model / target.value,
        "reading": target.reading,
    }
