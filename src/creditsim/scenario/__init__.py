"""Scenarios: the typed schema, presets shipped with the package, and loading with `extends`."""

from creditsim.scenario.loading import (
    ScenarioError,
    load_scenario,
    merge,
    preset_names,
    scenario_hash,
    to_toml,
)
from creditsim.scenario.schema import Scenario

__all__ = [
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "merge",
    "preset_names",
    "scenario_hash",
    "to_toml",
]
