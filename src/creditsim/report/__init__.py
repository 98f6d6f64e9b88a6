"""Plots and a self-contained HTML report of a run or a comparison.

    creditsim.report(result, "report.html")            # a RunResult or a CompareResult
    creditsim.report("runs/national", "report.html")   # a run or compare directory
    creditsim.report("12", "report.html")              # a run catalogue id
    result.plot("sanctions")                           # one matplotlib Figure (kinds: KINDS)

This module is itself callable: `creditsim.report(...)` is `creditsim.report.report(...)`, and
`creditsim.figures.plots` stays reachable.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from creditsim.outputs import write_text
from creditsim.report.loading import Comparison, ReportError, open_source
from creditsim.workflow.targets import TargetError


def report(
    source: Any,
    out: str | Path = "report.html",
    *,
    targets: str | Path | bool | None = None,
) -> Path:
    """Write one self-contained HTML report of `source` to `out`, and return its path.

    `source` is a RunResult, a CompareResult, a run or compare directory, or a run catalogue id.
    `targets` is a targets file or a scenario name whose published figures ship with creditsim;
    None uses the run's own scenario's where they ship, False leaves the gap out. The file is
    written under a temporary name and renamed when complete; on an error (ReportError) nothing
    is written."""
    from creditsim.report.compare_report import render_compare
    from creditsim.report.run_report import render_run
    from creditsim.result import RunResult

    target = _check_out(Path(out))
    if isinstance(source, str | Path):
        source = open_source(source)
    elif hasattr(source, "to_json") and hasattr(source, "runs_a"):  # a CompareResult
        source = Comparison(source.to_json(), getattr(source, "path", None))
    if isinstance(source, RunResult):
        try:
            text = render_run(source, targets, parallel=True)
        except TargetError as error:
            raise ReportError(f"--targets: {error}") from None
    elif isinstance(source, Comparison):
        text = render_compare(source)
    else:
        raise ReportError(
            f"cannot make a report of a {type(source).__name__}: give a run result, a compare "
            "result, a run or compare directory, or a run catalogue id"
        )
    write_text(text, target)
    return target


def _check_out(out: Path) -> Path:
    if out.is_dir():
        raise ReportError(f"-o {out}: is a directory; give the name of the HTML file to write")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ReportError(f"-o {out}: the folder {parent} does not exist")
    return out


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Path:
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["Comparison", "ReportError", "open_source", "report"]
