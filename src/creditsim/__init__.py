"""creditsim: a simulator and audit lab for social credit systems, on synthetic citizens only."""

__version__ = "0.1.0"

from creditsim.engine.runner import RunResult, run  # noqa: E402
from creditsim.scenario import Scenario, ScenarioError, load_scenario, preset_names  # noqa: E402

__all__ = [
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "preset_names",
    "run",
]
