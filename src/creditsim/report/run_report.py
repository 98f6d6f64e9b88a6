"""The report of one run: the audit turned into the plain data that templates/run.html draws.

Each `_section` function returns one section's context; the words around the numbers are in the
section's template (templates/run/<anchor>.html) and in `prose`.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from creditsim.figures import numbers as fmt
from creditsim.report.drawing import draw_figures
from creditsim.report.findings import Posteriors, as_dicts, run_findings
from creditsim.report.headlines import headline_cards, headline_table
from creditsim.report.prose import flag_words, mechanisms, years
from creditsim.report.render import made_at, raw, render
from creditsim.report.tables import (
    behaviour_table,
    children_table,
    disparity_table,
    lists_table,
    mobility_table,
    published_table,
    regions_table,
    sanctions_table,
    side_by_side_tables,
    wrongful_table,
)
from creditsim.workflow.ranges import secret_ranges
from creditsim.workflow.targets import TargetError, gap_table, load_targets, shipped_targets

if TYPE_CHECKING:
    from creditsim.result import RunResult
    from creditsim.scenario import Scenario

SECTIONS = (
    ("findings", "What was found"),
    ("headlines", "The headline numbers"),
    ("simulated", "What was simulated"),
    ("sanctions", "Sanctions over time"),
    ("wrongful", "Wrongful sanctions and their causes"),
    ("disparity", "Disparity by group"),
    ("regions", "By region"),
    ("children", "Children reached"),
    ("mobility", "Who climbs back"),
    ("behaviour", "The effect on behaviour and speech"),
    ("scores", "Scores over time"),
    ("side-by-side", "The social credit score beside a FICO-like score"),
    ("published", "The gap to the published figures"),
    ("limits", "How to read this, and its limits"),
)

CAPTIONS = {
    "sanctions": "Citizens under each sanction, reward and list, week by week (each panel has its "
    "own scale). The number on each panel is the count under it at the end of the run, in its "
    "last week; the table below counts everyone ever under it during the run, so it is larger.",
    "wrongful": "Citizens ever sanctioned wrongfully under each sanction during the run, with "
    "the 95% interval of the wrongful share (bars: the share's interval as citizens), and the "
    "causes of the wrongful records behind them.",
    "disparity": "Disparate impact by group for each outcome, with confidence intervals; filled "
    "dots: the whole interval is outside the band.",
    "regions": "Citizens under any sanction and wrongful records, per 1,000 citizens, by region "
    "(bars: 95% intervals).",
    "children": "Children reached per 1,000 citizens, by group and by region (bars: 95% "
    "intervals).",
    "mobility": "Citizens who fell to each policy's bottom grade and who climbed back, and the "
    "days it took.",
    "behaviour": "Change in events with the system against without it, by category and by "
    "behaviour.",
    "scores": "Each score policy's scores over time, and at the end.",
    "side_by_side": "Who each score punishes, who both do, and the rate punished by group per "
    "1,000 (bars: 95% intervals).",
}


def render_run(result: RunResult, targets: str | Any | None = None, parallel: bool = False) -> str:
    """The report of one run, as HTML text. `targets`: a targets file or scenario name, None for
    the scenario's shipped targets where it has them, False for none. `parallel`: draw half the
    plots in a forked child (report/drawing.py), as the command line and the API do."""
    scenario = result.scenario
    audit = in_scenario_order(result.audit(), scenario)
    overall = audit["overall"]
    manifest = result.manifest
    gap = gap_rows(audit, result, targets)  # first: a bad targets file fails before the plots
    figures = draw_figures(result, CAPTIONS, parallel)
    post = Posteriors(int(manifest.get("seed") or 0), audit.get("confidence", 0.95))
    data = {
        "findings": {"findings": as_dicts(run_findings(audit, int(manifest.get("seed") or 0)))},
        "headlines": {
            "cards": headline_cards(audit, post),
            "table": headline_table(audit, post),
            "secret": secret_ranges(result),
            "scenario_name": scenario.name,
        },
        "simulated": _simulated(result),
        "sanctions": {
            "figure": figures["sanctions"],
            "sanctions": sanctions_table(overall, scenario),
            "lists": lists_table(overall),
        },
        "wrongful": _wrongful(overall, figures["wrongful"]),
        "disparity": _disparity(audit, figures["disparity"]),
        "regions": {"figure": figures["regions"], "table": regions_table(audit)},
        "children": _children(audit, figures["children"], post),
        "mobility": {"figure": figures["mobility"], "table": mobility_table(overall)},
        "behaviour": {"figure": figures["behaviour"], "table": behaviour_table(overall)},
        "scores": {"figure": figures["scores"]},
        "side-by-side": {
            "figure": figures["side_by_side"],
            "tables": side_by_side_tables(overall),
        },
        "published": _published(audit, gap),
        "limits": {"scenario": scenario.name},
    }
    return render(
        "run.html",
        folder="run",
        sections=SECTIONS,
        data=data,
        title=f"creditsim report: {scenario.name}",
        subtitle=f"{fmt.integer(overall['citizens'])} synthetic citizens over "
        f"{years(manifest.get('years'))}, seed {manifest.get('seed')}",
        made=made_at(),
        run_version=manifest.get("creditsim_version", "?"),
        scenario_hash=manifest.get("scenario_hash", "?"),
    )


def in_scenario_order(audit: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """The audit with groups, regions, policies and lists in the scenario's order (audit.json is
    written with sorted keys); a shallow copy, the numbers untouched."""

    def ordered(mapping: dict[str, Any], names: list[str]) -> dict[str, Any]:
        keys = [n for n in names if n in mapping] + [k for k in mapping if k not in names]
        return {key: mapping[key] for key in keys}

    out = dict(audit)
    out["by_group"] = ordered(audit.get("by_group", {}), [g.name for g in scenario.groups])
    out["by_region"] = ordered(audit.get("by_region", {}), [r.name for r in scenario.regions])
    overall = dict(audit["overall"])
    policies = [p.name for p in scenario.policies]
    for key in ("policies", "lists"):
        if key in overall:
            overall[key] = ordered(overall[key], policies)
    out["overall"] = overall
    return out


def _simulated(result: RunResult) -> dict[str, Any]:
    manifest = result.manifest
    scenario = result.scenario
    facts = [
        ("Scenario", scenario.name),
        ("Description", scenario.description or "(none given)"),
        ("Citizens", f"{fmt.integer(manifest.get('population'))} (synthetic)"),
        (
            "Simulated time",
            f"{years(manifest.get('years'))} ({fmt.integer(manifest.get('days'))} days)",
        ),
        ("Seed", str(manifest.get("seed"))),
        ("creditsim version", str(manifest.get("creditsim_version", "?"))),
        ("Scenario hash", str(manifest.get("scenario_hash", "?"))),
    ]
    return {"facts": facts, "mechanisms": mechanisms(scenario)}


def _wrongful(overall: dict[str, Any], drawn: dict[str, Any]) -> dict[str, Any]:
    anyone = overall.get("sanctions", {}).get("any", {})
    return {
        "figure": drawn,
        "wrongful": fmt.integer(anyone.get("wrongful", 0)),
        "sanctioned": fmt.integer(anyone.get("sanctioned", 0)),
        "wrongful_records": fmt.integer(overall.get("wrongful_records", 0)),
        "records": fmt.integer(overall.get("records", 0)),
        "causes": wrongful_table(overall),
    }


def _disparity(audit: dict[str, Any], drawn: dict[str, Any]) -> dict[str, Any]:
    threshold = audit.get("four_fifths_threshold", 0.8)
    return {
        "figure": drawn,
        "reference": audit.get("reference_group", "?"),
        "low": f"{threshold:g}",
        "high": f"{1 / threshold:.3g}",
        "confidence": fmt.percent(audit.get("confidence", 0.95)),
        "table": disparity_table(audit),
        "flagged": [flag_words(f) for f in audit.get("flagged_significant", [])],
    }


def _children(audit: dict[str, Any], drawn: dict[str, Any], post: Posteriors) -> dict[str, Any]:
    overall = audit["overall"]
    return {
        "figure": drawn,
        "reached": fmt.integer(overall.get("children_reached")),
        "households": fmt.integer(overall.get("households_reached")),
        "living_with": fmt.integer(overall.get("children_living_with_a_sanctioned_citizen")),
        "table": children_table(audit, post),
    }


def gap_rows(audit: dict[str, Any], result: RunResult, targets: Any) -> tuple[list, str, str]:
    """The gap to the published figures: (rows, where the figures come from, a note as HTML).
    Raises TargetError for targets that were asked for and cannot be used."""
    run_years = float(result.manifest.get("years") or result.scenario.run.years)
    name = result.scenario.name
    if targets is False:
        return [], "", raw("Left out: the report was made without published figures.")
    if targets is None:
        if name not in shipped_targets():
            return [], "", raw(_no_targets(name))
        chosen, source = load_targets(name), f"the published figures shipped for {name}"
        try:
            rows = gap_table(audit, chosen, run_years)
        except TargetError as error:
            text = f"The published figures for {name} do not fit this run: {error}"
            return [], "", raw(escape(text))
    else:
        chosen, source = load_targets(targets), f"the targets in {targets}"
        rows = gap_table(audit, chosen, run_years)
    mismatch = ""
    if chosen.scenario and chosen.scenario != name:
        mismatch = raw(
            f"These figures were made for “{escape(chosen.scenario)}”, not for “{escape(name)}”."
        )
    return rows, source, mismatch


def _no_targets(name: str) -> str:
    return (
        f"No published figures ship for the scenario “{escape(name)}”, so there is no gap to "
        "show. Give a targets file with <code>--targets FILE</code> (shipped: "
        + escape(", ".join(shipped_targets()) or "none")
        + ")."
    )


def _published(audit: dict[str, Any], gap: tuple[list, str, str]) -> dict[str, Any]:
    rows, source, remark = gap
    return {
        "table": published_table(rows) if rows else None,
        "source": source,
        "citizens": fmt.integer(audit["overall"]["citizens"]),
        "remark": remark,
    }


__all__ = ["SECTIONS", "TargetError", "gap_rows", "in_scenario_order", "render_run"]
