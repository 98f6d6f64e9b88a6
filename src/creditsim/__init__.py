"""creditsim: a simulator and audit lab for social credit systems, on synthetic citizens only.

The public API is loaded on first use (PEP 562), so `import creditsim` and `creditsim --help`
cost almost nothing; `creditsim.run` then brings in the simulator and `creditsim.compare` the
workflow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from creditsim.version import __version__

# Each public name, and the module that defines it.
_PUBLIC = {
    "CompareResult": "creditsim.workflow.compare",
    "CreditsimError": "creditsim.errors",
    "OutputError": "creditsim.errors",
    "RunResult": "creditsim.result",
    "Scenario": "creditsim.scenario.schema",
    "ScenarioError": "creditsim.scenario.loading",
    "SweepResult": "creditsim.workflow.sweep",
    "WorkflowError": "creditsim.workflow.runs",
    "calibrate": "creditsim.workflow.calibrate",
    "case": "creditsim.workflow.case",
    "CaseFile": "creditsim.workflow.case",
    "CalibrationResult": "creditsim.workflow.calibrate",
    "compare": "creditsim.workflow.compare",
    "load_scenario": "creditsim.scenario.loading",
    "preset_names": "creditsim.scenario.loading",
    "run": "creditsim.workflow.run",
    "sweep": "creditsim.workflow.sweep",
    "uncertainty": "creditsim.workflow.uncertainty",
    "UncertaintyResult": "creditsim.workflow.uncertainty",
}

if TYPE_CHECKING:
    from creditsim import report
    from creditsim.errors import CreditsimError, OutputError
    from creditsim.result import RunResult
    from creditsim.scenario import Scenario, ScenarioError, load_scenario, preset_names
    from creditsim.workflow.calibrate import CalibrationResult, calibrate
    from creditsim.workflow.case import CaseFile, case
    from creditsim.workflow.compare import CompareResult, compare
    from creditsim.workflow.run import run
    from creditsim.workflow.runs import WorkflowError
    from creditsim.workflow.sweep import SweepResult, sweep
    from creditsim.workflow.uncertainty import UncertaintyResult, uncertainty


def __getattr__(name: str) -> Any:
    if name == "report":  # the report module, itself callable: creditsim.report(result, path)
        return importlib.import_module("creditsim.report")
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'creditsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC, "report"])


__all__ = [
    "CalibrationResult",
    "CaseFile",
    "CompareResult",
    "CreditsimError",
    "OutputError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SweepResult",
    "UncertaintyResult",
    "WorkflowError",
    "__version__",
    "calibrate",
    "case",
    "compare",
    "load_scenario",
    "preset_names",
    "report",
    "run",
    "sweep",
    "uncertainty",
]
