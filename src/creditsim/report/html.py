"""One self-contained HTML file that a journalist can read and hand on.

The names other modules have imported from here; the report itself is made by `run_report` (one
run) and `compare_report` (a paired comparison) on the Jinja2 templates in `report/templates`,
with the words about a scenario in `prose` and the page helpers in `render`.
"""

from __future__ import annotations

from creditsim.report.compare_report import render_compare
from creditsim.report.prose import CAUSE_WORDS, mechanisms
from creditsim.report.render import CSP
from creditsim.report.run_report import gap_rows, in_scenario_order, render_run
from creditsim.workflow.targets import TargetError

__all__ = [
    "CAUSE_WORDS",
    "CSP",
    "TargetError",
    "gap_rows",
    "in_scenario_order",
    "mechanisms",
    "render_compare",
    "render_run",
]
