"""Published figures as calibration targets, and the gap between a run and them.

A target names a reference id (shared/reference/published-figures.*), the audit metric it is
compared with (a dotted path into the audit), the published value, and the reading it takes:
every run is scaled from its citizens to the 1.4 billion the figures count, and a yearly figure
is divided by the run's years.
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
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    metric: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-:]+)*$")
    value: float = Field(gt=0)
    unit: str = ""
    per_year: bool = True
    reading: str = ""
    weight: float = Field(default=1.0, gt=0)


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
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise TargetError(f"{label}: field `{field}`: {first['msg']}") from None


def metric_value(audit: dict[str, Any], path: str) -> float:
    """The number at a dotted path of the audit, e.g. `overall.lists.debtors.sanctioned`."""
    node: Any = audit
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise TargetError(f"metric {path!r}: the audit has no {part!r} there")
        node = node[part]
    if not isinstance(node, int | float) or isinstance(node, bool):
        raise TargetError(f"metric {path!r}: not a number in the audit")
    return float(node)


def modelled(audit: dict[str, Any], target: Target, years: float) -> float:
    """The run's number on the target's scale: 1.4 billion citizens, and per year if asked."""
    citizens = audit["overall"]["citizens"]
    value = metric_value(audit, target.metric) * POPULATION / max(citizens, 1)
    return value / years if target.per_year else value


def gap_table(audit: dict[str, Any], targets: Targets, years: float) -> list[dict[str, Any]]:
    """One row per target: the published figure, the model's, and the gap between them."""
    rows = []
    for target in targets.targets:
        model = modelled(audit, target, years)
        rows.append(
            {
                "id": target.id,
                "unit": target.unit,
                "published": target.value,
                "model": model,
                "gap": model - target.value,
                "ratio": model / target.value,
                "reading": target.reading,
            }
        )
    return rows
