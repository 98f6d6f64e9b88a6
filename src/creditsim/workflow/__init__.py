"""The research workflow over many runs: paired comparisons and parameter sweeps."""

from creditsim.workflow.compare import CompareResult, compare, paired_table
from creditsim.workflow.metrics import HEADLINE, flatten_audit
from creditsim.workflow.runs import WorkflowError
from creditsim.workflow.sweep import (
    SweepResult,
    latin_hypercube,
    override_for,
    parse_settings,
    sweep,
)

__all__ = [
    "HEADLINE",
    "CompareResult",
    "SweepResult",
    "WorkflowError",
    "compare",
    "flatten_audit",
    "latin_hypercube",
    "override_for",
    "paired_table",
    "parse_settings",
    "sweep",
]
