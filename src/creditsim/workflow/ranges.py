"""What the newest uncertainty analysis of a run's model says beside the run: its ranges over
what is secret, scaled to the run. Apart from `uncertainty.py` so that a report or the dashboard
can show them without importing what an analysis needs (pandas, SALib).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from creditsim.scenario import Scenario, scenario_hash
from creditsim.scenario.schema import RunSettings
from creditsim.workflow.uncertainty_page import label, show

if TYPE_CHECKING:
    from creditsim.result import RunResult


def secret_ranges(result: RunResult) -> dict[str, Any] | None:
    """The headline numbers' ranges over what is secret, from the newest `creditsim
    uncertainty` analysis of the run's model in the catalogue, scaled to the run (what the
    report and the dashboard show beside it); None where there is none."""
    ranges = latest_ranges(result.scenario)
    if not ranges:
        return None
    return beside_run(ranges, int(result.audit()["overall"]["citizens"]))


def latest_ranges(scenario: Scenario) -> dict[str, dict[str, Any]] | None:
    """The intervals over what is secret of the newest analysis of exactly this scenario in the
    catalogue (None: no analysis, or no catalogue). Counts were measured on the analysis's own
    population: scale them by the citizens of the run they stand beside."""
    from creditsim.catalogue import CatalogueError, latest

    try:
        entry = latest("uncertainty", model_key(scenario))
    except (CatalogueError, OSError):
        return None
    return None if entry is None else entry.get("metrics")


def model_key(scenario: Scenario) -> str:
    """The scenario's hash with the run settings that leave the model as it is (population,
    seed, shards, outputs) set aside: an analysis stands beside any run of the same model over
    the same calendar."""
    run = scenario.run
    kept = RunSettings(years=run.years, start_date=run.start_date, report_from=run.report_from)
    return scenario_hash(scenario.model_copy(update={"run": kept}))


BESIDE_A_RUN = (
    "sanctions.any.wrongful_share", "sanctions.any.wrongful", "sanctions.any.sanctioned",
    "children_reached", "sanctions.flight_ban.denied_purchases",
    "sanctions.train_ban.denied_purchases",
)  # fmt: skip


def beside_run(ranges: dict[str, dict[str, Any]], citizens: int) -> dict[str, Any]:
    """What the newest analysis of a run's model says of its headline numbers, for a run of
    `citizens`: each number's interval over the assumption ranges (counts scaled from the
    analysis's citizens to the run's), each group's disparity, and how the analysis was made."""
    analysis = ranges.get("analysis", {})
    scale = citizens / max(int(analysis.get("population") or citizens), 1)
    metrics = [m for m in BESIDE_A_RUN if m in ranges]
    metrics += sorted(m for m in ranges if m.endswith(".disparate_impact"))
    lines = []
    for metric in metrics:
        entry = ranges[metric]
        if entry.get("low") is None:
            continue
        counted = not metric.endswith(("share", "disparate_impact"))
        factor = scale if counted else 1.0
        low, high = (show(metric, _rounded(entry[k] * factor, counted)) for k in ("low", "high"))
        own = show(metric, _rounded(entry["scenario_value"] * factor, counted))
        if metric.endswith("disparate_impact"):
            text = entry.get("in_words") or ""
            text = text.split("; the scenario as written", 1)[0]
        else:
            text = f"{label(metric)}: between {low} and {high} over the assumption ranges"
        lines.append({"metric": metric, "text": f"{text} (the analysis's run as written: {own})"})
    made = (
        f"{analysis.get('method', '?')} analysis, {analysis.get('runs', '?')} runs of "
        f"{int(analysis.get('population') or 0):,} citizens; counts scaled to this run's "
        f"{citizens:,}"
    )
    return {"lines": lines, "analysis": made}


def _rounded(value: float, counted: bool) -> float:
    return float(round(value)) if counted else value
