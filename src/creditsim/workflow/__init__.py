"""The research workflow: one run (`run`), paired comparisons, parameter sweeps, calibration and
uncertainty over the assumption ranges, each a module of its own, loaded on first use so that one
run does not load the others."""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "CompareResult": "compare",
    "HEADLINE": "metrics",
    "SweepResult": "sweep",
    "UncertaintyResult": "uncertainty",
    "WorkflowError": "runs",
    "compare": "compare",
    "flatten_audit": "metrics",
    "latin_hypercube": "sweep",
    "override_for": "sweep",
    "paired_table": "compare",
    "parse_settings": "sweep",
    "sweep": "sweep",
    "uncertainty": "uncertainty",
}


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'creditsim.workflow' has no attribute {name!r}")
    return getattr(importlib.import_module(f"creditsim.workflow.{module}"), name)


__all__ = [
    "HEADLINE",
    "CompareResult",
    "SweepResult",
    "UncertaintyResult",
    "WorkflowError",
    "compare",
    "flatten_audit",
    "latin_hypercube",
    "override_for",
    "paired_table",
    "parse_settings",
    "sweep",
    "uncertainty",
]
