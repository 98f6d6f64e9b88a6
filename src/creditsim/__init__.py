"""creditsim: a simulator and audit lab for social credit systems, on synthetic citizens only."""

__version__ = "0.1.0"

from creditsim import report  # noqa: E402  (callable: creditsim.report(result, "r.html"))
from creditsim.engine.runner import RunResult, run  # noqa: E402
from creditsim.scenario import Scenario, ScenarioError, load_scenario, preset_names  # noqa: E402
from creditsim.workflow import (  # noqa: E402
    CompareResult,
    SweepResult,
    WorkflowError,
    compare,
    sweep,
)

__all__ = [
    "CompareResult",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SweepResult",
    "WorkflowError",
    "__version__",
    "compare",
    "load_scenario",
    "preset_names",
    "report",
    "run",
    "sweep",
]
