"""The report of a paired comparison (compare.json): every metric's difference B − A, as the plain
data that templates/compare.html draws."""

from __future__ import annotations

from typing import Any

from creditsim.figures import numbers as fmt
from creditsim.report.findings import as_dicts, compare_findings
from creditsim.report.loading import Comparison
from creditsim.report.prose import plural, years
from creditsim.report.render import made_at, render, table

SECTIONS = (
    ("findings", "What was found"),
    ("compared", "What was compared"),
    ("differences", "Paired differences"),
    ("limits", "How to read this, and its limits"),
)

HEADLINE_ORDER = (
    "sanctions.any.sanctioned",
    "sanctions.any.wrongful",
    "wrongful_records",
    "children_reached",
    "behaviour_change.offending.change_share",
    "behaviour_change.speech.change_share",
)


def render_compare(comparison: Comparison) -> str:
    """The report of a paired comparison (compare.json): every metric's difference B − A."""
    data = comparison.data
    a, b = data.get("a", {}), data.get("b", {})
    seeds = data.get("seeds", [])
    return render(
        "compare.html",
        folder="compare",
        sections=SECTIONS,
        data={
            "findings": {"findings": as_dicts(compare_findings(data))},
            "compared": _compared(comparison),
            "differences": _differences(data),
            "limits": {},
        },
        title=f"creditsim comparison: {b.get('scenario')} (B) against {a.get('scenario')} "
        "(A, the baseline)",
        subtitle=f"{fmt.integer(data.get('population'))} synthetic citizens, "
        f"{years(data.get('years'))}, {len(seeds)} seeds",
        made=made_at(),
    )


def _compared(comparison: Comparison) -> dict[str, Any]:
    data = comparison.data
    a, b = data.get("a", {}), data.get("b", {})
    facts = [
        ("A", f"{a.get('scenario')} (hash {a.get('scenario_hash')})"),
        ("B", f"{b.get('scenario')} (hash {b.get('scenario_hash')})"),
        ("Citizens", f"{fmt.integer(data.get('population'))} (synthetic), the same in A and B"),
        ("Simulated time", years(data.get("years"))),
        ("Seeds", ", ".join(str(s) for s in data.get("seeds", []))),
        ("Difference", str(data.get("difference", "B − A"))),
    ]
    return {"facts": facts, "note": data.get("note") or ""}


def _differences(data: dict[str, Any]) -> dict[str, Any]:
    confidence = fmt.percent(data.get("confidence", 0.95))
    seeds = data.get("seeds", [])
    ordered = sorted(
        data.get("metrics", []),
        key=lambda m: HEADLINE_ORDER.index(m["metric"]) if m["metric"] in HEADLINE_ORDER else 99,
    )
    zero = [m for m in ordered if not m.get("a_mean") and not m.get("b_mean")]
    shown = [m for m in ordered if m not in zero]
    return {
        "table": table(
            f"Every audit metric: mean of A, mean of B, mean difference B − A and its "
            f"{confidence} confidence interval over {len(seeds)} seeds "
            "(highlighted: the interval excludes zero)",
            ["metric", "A", "B", "B − A", f"{confidence} interval", "significant"],
            [_metric_row(m) for m in shown],
            numeric={1, 2, 3, 4},
            flags=[bool(m.get("significant")) for m in shown],
        ),
        "zero": [m["metric"] for m in zero],
        "zero_count": plural(len(zero), "metric"),
    }


def _metric_row(metric: dict[str, Any]) -> list[str]:
    share = metric["metric"].endswith("_share") or metric["metric"].endswith("_rate")
    show = (lambda v: fmt.percent(v, signed=True)) if share else fmt.signed_number
    plain = (lambda v: fmt.percent(v)) if share else fmt.number
    low, high = metric.get("ci_low"), metric.get("ci_high")
    significant = metric.get("significant")
    return [
        metric["metric"],
        plain(metric.get("a_mean")),
        plain(metric.get("b_mean")),
        show(metric.get("difference")),
        "—" if low is None or high is None else f"{show(low)} to {show(high)}",
        "—" if significant is None else ("yes" if significant else "no"),
    ]


__all__ = ["HEADLINE_ORDER", "SECTIONS", "render_compare"]
