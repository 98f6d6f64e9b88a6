"""The readable page of an uncertainty analysis (uncertainty.html): the intervals over the
assumption ranges beside the scenario's own values, the ranking of the unknowns that drive
wrongful sanctions, disparity and children reached, and the ranges themselves with their reasons.

Self-contained like the run report: the report's style sheet inlined, plots as SVG data, no
script, nothing fetched. The page says the same for the same analysis (no clock in it, SVG ids
from a fixed salt), so it does not depend on the workers either. matplotlib (Agg, no pyplot) and
Jinja2 load only here.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from creditsim.version import __version__

if TYPE_CHECKING:
    from creditsim.workflow.uncertainty import UncertaintyResult

TEMPLATE = "uncertainty.html"
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
WIDTH = 5.4  # inches: a phone's 390 px shows the plot at about nine tenths of its size
STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "svg.fonttype": "path",
    "svg.hashsalt": "creditsim-uncertainty",
}
POINTS, SCENARIO, SAMPLING = "#56B4E9", "#D55E00", "#000000"
BAR = "#0072B2"
TOP = 8  # assumptions shown in each ranking plot (every one is in the tables)
SAMPLING_NOTE = (
    "the 95% interval of the one run of the scenario as written, from the finite synthetic "
    "population (Jeffreys: a count of citizens as a share of all citizens, a count of events as "
    "a Poisson count, a disparity from the audit's posterior draws); it is not the interval over "
    "the assumption ranges, which is what is not known about the system"
)
RANGE_NOTE = (
    "the lowest and the highest value over the points drawn from the assumption ranges (each "
    "range read uniformly, or on a log scale where marked), every point on the same seed as the "
    "scenario as written; the 5th and 95th percentiles of those points beside them"
)
DISPARITY_NOTE = (
    "a disparity is the group's sanction rate divided by the reference group's: 1.4 means "
    "sanctioned 1.4 times as often; flagged outside 0.8 to 1.25"
)
SENSITIVITY_NOTES = {
    "morris": (
        "Morris elementary effects (SALib): mu_star is the mean absolute change in the number "
        "when one assumption moves across its whole range (the others held), mu the signed "
        "mean, sigma the spread of the changes (high: the effect depends on the other "
        "assumptions, or is not linear); mu_star_conf is the half-width of mu_star's 95% "
        "bootstrap interval. Ranked by mu_star; 0 means no effect at any point visited."
    ),
    "sobol": (
        "Sobol indices (SALib, Saltelli's scheme): S1 is the share of the number's variance over "
        "the ranges due to the assumption alone, ST the share it has a part in (with its "
        "interactions); each with the half-width of its 95% bootstrap interval. Ranked by ST."
    ),
}


def page(result: UncertaintyResult) -> str:
    """The whole page as HTML text."""
    key, ranked = key_metrics(result), ranked_metrics(result)
    context = {
        "csp": CSP,
        "version": __version__,
        "title": f"What is not known: {result.scenario.name} over its assumption ranges",
        "subtitle": _subtitle(result),
        "facts": _facts(result),
        "sentences": [result.intervals[m]["in_words"] for m in key],
        "intervals_figure": _svg(intervals_figure(result, key)),
        "ranking_figure": _svg(ranking_figure(result, ranked)) if ranked else None,
        "interval_rows": _interval_rows(result),
        "rankings": [_ranking_table(result, m) for m in ranked],
        "assumptions": _assumption_rows(result),
        "left_out": sorted(result.left_out.items()),
        "sensitivity_note": SENSITIVITY_NOTES[result.method],
        "notes": result.describe()["conventions"],
    }
    return _environment().get_template(TEMPLATE).render(context)


def key_metrics(result: UncertaintyResult) -> list[str]:
    """The headline numbers a reader looks at first, in this order."""
    first = ["sanctions.any.sanctioned", "sanctions.any.wrongful", "sanctions.any.wrongful_share"]
    names = list(result.intervals)
    chosen = [m for m in first if m in names]
    chosen += [m for m in names if m.endswith(".disparate_impact")]
    chosen += [m for m in ("children_reached",) if m in names]
    chosen += [m for m in names if m.endswith(".denied_purchases")]
    return chosen


def ranked_metrics(result: UncertaintyResult) -> list[str]:
    """The numbers whose drivers the page ranks: wrongful sanctions, each disparity, children."""
    names = list(result.sensitivity)
    chosen = [m for m in ("sanctions.any.wrongful",) if m in names]
    chosen += [m for m in names if m.endswith(".disparate_impact")]
    chosen += [m for m in ("children_reached",) if m in names]
    return chosen


def plot_title(metric: str) -> str:
    """A headline number's name short enough for a plot's title on a phone."""
    parts = metric.split(".")
    fixed = {
        "sanctions.any.sanctioned": "citizens under any sanction",
        "sanctions.any.wrongful": "citizens sanctioned wrongfully",
        "sanctions.any.wrongful_share": "share sanctioned wrongfully",
        "children_reached": "children reached",
    }
    if metric in fixed:
        return fixed[metric]
    if parts[0] == "by_group":
        return f"disparity: {parts[1]} ÷ reference"
    if parts[-1] == "denied_purchases":
        return f"purchases denied: {parts[1].replace('_', ' ')}"
    return label(metric)


def short(path: str) -> str:
    """An assumption's path shortened for a plot's axis: its last two names."""
    return ".".join(path.split(".")[-2:])


# -------------------------------------------------------------------------------------- plots


def intervals_figure(result: UncertaintyResult, metrics: list[str]) -> Any:
    """One strip per headline number: every point's value, the range over the points, and the
    scenario's own value with its sampling interval."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 0.95 * len(metrics) + 0.5), layout="constrained")
        axes = figure.subplots(len(metrics), 1, squeeze=False)[:, 0]
        for ax, metric in zip(axes, metrics, strict=True):
            _strip(ax, result, metric)
            ax.set_title(plot_title(metric), loc="left")
        FigureCanvasAgg(figure)
    figure.creditsim_alt = (
        "For each headline number, the values over the points drawn from the assumption ranges, "
        "beside the scenario's own value and its sampling interval."
    )
    return figure


def _strip(ax: Any, result: UncertaintyResult, metric: str) -> None:
    import numpy as np

    values = result.table[metric].to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    jitter = np.linspace(-0.25, 0.25, values.size) if values.size > 1 else np.zeros(values.size)
    ax.scatter(values, jitter, s=10, color=POINTS, alpha=0.6, linewidths=0, zorder=2)
    entry = result.intervals[metric]
    if entry["low"] is not None:
        ax.hlines(0.0, entry["low"], entry["high"], color=POINTS, linewidth=1.2, zorder=1)
        ax.hlines(0.0, entry["q05"], entry["q95"], color=BAR, linewidth=4, zorder=1)
    own, sampling = entry["scenario_value"], entry["sampling_interval"]
    if sampling is not None:
        ax.hlines(-0.55, sampling[0], sampling[1], color=SAMPLING, linewidth=2)
    if own is not None:
        ax.scatter([own], [-0.55], marker="D", s=36, color=SCENARIO, zorder=3)
    if metric.endswith(".disparate_impact"):
        for edge in (0.8, 1.25):
            ax.axvline(edge, color="#999999", linewidth=0.8, linestyle="--")
    ax.set_ylim(-0.9, 0.5)
    ax.set_yticks([])
    ax.grid(axis="y", visible=False)


def ranking_figure(result: UncertaintyResult, metrics: list[str]) -> Any:
    """For each ranked number, the assumptions that move it most, with their intervals."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = [min(TOP, len(result.sensitivity[m]["ranking"])) or 1 for m in metrics]
    height = sum(0.24 * count + 0.6 for count in shown) + 0.3
    value, conf = ("mu_star", "mu_star_conf") if result.method == "morris" else ("ST", "ST_conf")
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, height), layout="constrained")
        axes = figure.subplots(len(metrics), 1, squeeze=False, height_ratios=shown)[:, 0]
        for ax, metric in zip(axes, metrics, strict=True):
            ranking = result.sensitivity[metric]["ranking"][:TOP]
            names = [short(entry["path"]) for entry in ranking][::-1]
            sizes = [entry[value] or 0.0 for entry in ranking][::-1]
            errors = [entry[conf] or 0.0 for entry in ranking][::-1]
            below = [min(error, size) for error, size in zip(errors, sizes, strict=True)]
            ax.barh(names, sizes, xerr=[below, errors], color=BAR, error_kw={"linewidth": 0.8})
            ax.set_title(plot_title(metric), loc="left")
            ax.tick_params(axis="y", labelsize=8)
            ax.grid(axis="y", visible=False)
        axes[-1].set_xlabel(
            "mu*: mean absolute change across a range"
            if result.method == "morris"
            else "ST: share of the variance it has a part in",
            fontsize=8,
        )
        FigureCanvasAgg(figure)
    figure.creditsim_alt = (
        "For wrongful sanctions, each group's disparity and children reached, the assumptions "
        "ranked by how much they move the number."
    )
    return figure


def _svg(figure: Any) -> dict[str, Any]:
    """The figure as SVG data: the ids it draws come from the fixed salt, so the same figure is
    the same bytes."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    width, height = (round(v * 72) for v in figure.get_size_inches())
    return {
        "data": base64.b64encode(buffer.getvalue()).decode("ascii"),
        "alt": figure.creditsim_alt,
        "width": width,
        "height": height,
    }


# ------------------------------------------------------------------------------------- tables


def _subtitle(result: UncertaintyResult) -> str:
    from creditsim.figures import numbers

    method = "Morris elementary effects" if result.method == "morris" else "Sobol indices"
    return (
        f"{len(result.ranges)} assumptions, {method}, {numbers.integer(result.runs)} runs of "
        f"{numbers.integer(result.population)} synthetic citizens for {result.years:g} "
        f"year{'' if result.years == 1 else 's'}, "
        f"all on seed {result.seed}"
    )


def _facts(result: UncertaintyResult) -> list[tuple[str, str]]:
    from creditsim.figures import numbers

    design = (
        f"{result.samples} trajectories of {len(result.ranges) + 1} points"
        if result.method == "morris"
        else f"{result.samples} base points x {len(result.ranges) + 2}"
    )
    return [
        ("scenario", f"{result.scenario.name} ({result.source})"),
        ("method", f"{result.method}: {design} = {len(result.design)} design rows"),
        ("runs", f"{numbers.integer(len(result.points))} distinct points and the scenario as "
                 f"written: {numbers.integer(result.runs)}"),
        ("citizens simulated", numbers.integer(result.runs * result.population)),
        ("seed", str(result.seed)),
        ("reference group", result.reference_group or "—"),
    ]  # fmt: skip


def _interval_rows(result: UncertaintyResult) -> list[dict[str, Any]]:

    rows = []
    for metric, entry in result.intervals.items():
        sampling = entry["sampling_interval"]
        rows.append({
            "label": label(metric),
            "metric": metric,
            "range": f"{show(metric, entry['low'])} to {show(metric, entry['high'])}",
            "central": f"{show(metric, entry['q05'])} to {show(metric, entry['q95'])}",
            "own": show(metric, entry["scenario_value"]),
            "sampling": "—" if sampling is None
            else f"{show(metric, sampling[0])} to {show(metric, sampling[1])}",
            "outside": entry["contains_scenario_value"] is False,
        })  # fmt: skip
    return rows


def _ranking_table(result: UncertaintyResult, metric: str) -> dict[str, Any]:
    keys = ("mu_star", "mu_star_conf", "mu", "sigma") if result.method == "morris" else (
        "ST", "ST_conf", "S1", "S1_conf")  # fmt: skip
    header = ["mu*", "± (95%)", "mu", "sigma"] if result.method == "morris" else [
        "ST", "± (95%)", "S1", "± (95%)"]  # fmt: skip
    entry = result.sensitivity[metric]
    rows = [
        [str(row["rank"]), row["path"], *(_index(row[k]) for k in keys)] for row in entry["ranking"]
    ]
    return {"title": label(metric), "header": header, "rows": rows, "note": entry["note"]}


def _index(value: float | None) -> str:
    from creditsim.figures import numbers

    if value is None or not math.isfinite(value):
        return "—"
    return numbers.number(value, digits=3)


def _assumption_rows(result: UncertaintyResult) -> list[list[str]]:
    from creditsim.figures import numbers

    return [
        [r.path, numbers.number(r.low, 4), numbers.number(r.high, 4),
         "log" if r.log else "linear", numbers.number(r.value, 4),
         r.why + (f" Note: {result.notes[r.path]}." if r.path in result.notes else "")]
        for r in result.ranges
    ]  # fmt: skip


# -------------------------------------------------------------------------------------- words


def label(metric: str) -> str:
    """A headline number's name for people."""
    parts = metric.split(".")
    fixed = {
        "sanctions.any.sanctioned": "citizens under any sanction",
        "sanctions.any.wrongful": "citizens sanctioned wrongfully (any sanction)",
        "sanctions.any.wrongful_share": "share of the sanctioned who were sanctioned wrongfully",
        "wrongful_records": "wrongful records",
        "children_reached": "children reached by a sanction",
        "households_reached": "households reached by a sanction",
        "behaviour_change.offending.change_share": "change in offending against no system",
    }
    if metric in fixed:
        return fixed[metric]
    name = parts[1].replace("_", " ") if len(parts) > 1 else metric
    if parts[0] == "sanctions":
        return {
            "sanctioned": f"citizens under {name}",
            "wrongful": f"citizens under {name} wrongfully",
            "denied_purchases": f"ticket purchases denied by {name}",
        }.get(parts[-1], metric)
    if parts[0] == "lists":
        return f"citizens on the {name} list"
    if parts[0] == "by_group":
        return f"disparity of {parts[1]} (sanction rate ÷ the reference group's)"
    return metric


def show(metric: str, value: float | None) -> str:
    """A value of a headline number as a reader sees it."""
    from creditsim.figures import numbers

    if value is None or not math.isfinite(value):
        return "—"
    if metric.endswith("share"):
        return numbers.percent(value, signed=metric.startswith("behaviour_change."))
    if metric.endswith("disparate_impact"):
        return numbers.ratio(value)
    if float(value).is_integer():
        return numbers.integer(value)
    return numbers.number(value)


def in_words(
    metric: str, entry: dict[str, Any], reference: str | None, band: Sequence[float] = (0.8, 1.25)
) -> str:
    """The interval over the assumptions, the scenario's own value and its sampling interval,
    said in a sentence."""
    own = show(metric, entry["scenario_value"])
    sampling = entry["sampling_interval"]
    own_text = f"the scenario as written: {own}"
    if sampling is not None:
        own_text += f" (95% sampling interval of that one run: {show(metric, sampling[0])} to "
        own_text += f"{show(metric, sampling[1])})"
    if entry["low"] is None:
        return f"{label(metric)}: undefined at every point drawn; {own_text}"
    low, high = show(metric, entry["low"]), show(metric, entry["high"])
    if metric.endswith("disparate_impact"):
        group = metric.split(".")[1]
        where = _band(entry["low"], entry["high"], band)
        return (
            f"{group} sanctioned between {low} and {high} times as often as {reference} over "
            f"the assumption ranges ({where}); {own_text}"
        )
    return f"{label(metric)}: between {low} and {high} over the assumption ranges; {own_text}"


def _band(low: float, high: float, band: Sequence[float]) -> str:
    """Where the interval lies against the disparity band (flagged outside it)."""
    text = (
        f"the {show('x.disparate_impact', band[0])} to {show('x.disparate_impact', band[1])} band"
    )
    if high < band[0] or low > band[1]:
        return f"outside {text} at every point"
    if low >= band[0] and high <= band[1]:
        return f"inside {text} at every point"
    return f"outside {text} at some points"


# ------------------------------------------------------------------------------------ template


def _environment() -> Any:
    """Jinja2 over the report's shipped templates, read as package data (autoescaped)."""
    import jinja2

    folder = resources.files("creditsim").joinpath("report", "templates")

    def load(name: str) -> str | None:
        item = folder.joinpath(name)
        return item.read_text(encoding="utf-8") if item.is_file() else None

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


__all__ = ["in_words", "key_metrics", "label", "page", "ranked_metrics", "show"]
