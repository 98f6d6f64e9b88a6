"""Plots of a run: matplotlib Figures drawn from its audit and time series (Agg, no display).

`plot(result, "sanctions")` gives one Figure, `plot(result)` every kind as {kind: Figure}; the
kinds are in `KINDS`. Figures are made without pyplot, so none is left open and no display is
needed; each carries `figure.creditsim_alt`, a sentence describing it (the report's alt text).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import AutoLocator, FuncFormatter, MaxNLocator, NullLocator

from creditsim.figures import numbers as fmt
from creditsim.figures.columns import to_numpy
from creditsim.figures.uncertainty import Posteriors

if TYPE_CHECKING:
    from creditsim.result import RunResult

KINDS: dict[str, str] = {
    "sanctions": "citizens under each sanction, week by week, and on each list",
    "wrongful": "wrongful sanctions by sanction, and their causes",
    "disparity": "disparate impact by group (group / reference), with intervals and the band",
    "regions": "sanction rate and wrongful records by region",
    "children": "children reached by sanctions, by group and by region",
    "mobility": "falls to the bottom grade, climbs back, and the time to recover",
    "behaviour": "change in behaviour and speech against the same citizens without the system",
    "scores": "each score policy's score distribution over time",
    "side_by_side": "the social credit score beside the FICO-like baseline: who each punishes",
}

# Okabe-Ito, then a few more distinct colours: readable for colour-blind readers.
PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#F0E442",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
    "#6699CC",
    "#888888",
)
FLAG_COLOUR = "#F4CCCC"
BAND_COLOUR = "#E8E8E8"
STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "svg.fonttype": "path",
    "axes.titley": 1.0,  # a fixed title position: no measuring of each axes to place it
}
WIDTH = 10.0  # inches


def plot(result: RunResult, kind: str | None = None) -> Figure | dict[str, Figure]:
    """One kind of plot as a Figure, or with no kind every kind as {kind: Figure}."""
    if kind is None:
        return {name: plot(result, name) for name in KINDS}  # type: ignore[misc]
    if kind not in KINDS:
        raise ValueError(f"unknown plot kind {kind!r}: allowed are {', '.join(KINDS)}")
    import matplotlib

    with matplotlib.rc_context(STYLE):
        figure = DRAW[kind](_Data(result))
        _fit(figure)
        FigureCanvasAgg(figure)
    return figure


def svg(figure: Figure) -> bytes:
    """A Figure as SVG with its text as text (not paths): a fraction of the size and time."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "creditsim"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


# ---------------------------------------------------------------------------------- layout

CHAR = 0.58  # an average character's width, in ems
INCH = 72.0  # points


def _fit(figure: Figure) -> None:
    """A cheap layout: margins from the lengths of the tick labels, titles and legends, not from
    measured text (matplotlib's constrained layout measures every text twice, which was most of
    a report's time). Each column of axes gets the room its widest labels ask for."""
    axes = [ax for ax in figure.axes if ax.get_subplotspec() is not None]
    if not axes:
        return
    for ax in axes:  # fewer ticks on the default locators: each tick is costly to draw
        for axis in (ax.xaxis, ax.yaxis):
            if type(axis.get_major_locator()) is AutoLocator:
                axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    width, height = figure.get_size_inches()
    rows, cols = axes[0].get_subplotspec().get_gridspec().get_geometry()
    left, bottom, top = [0.0] * cols, [0.0] * rows, [0.0] * rows
    right = 0.2
    for ax in axes:
        spec = ax.get_subplotspec()
        if not ax.axison:
            continue
        column, first_row, last_row = spec.colspan.start, spec.rowspan.start, spec.rowspan.stop - 1
        left[column] = max(left[column], _left_room(ax))
        bottom[last_row] = max(bottom[last_row], _bottom_room(ax))
        top[first_row] = max(top[first_row], _top_room(ax))
        if spec.colspan.stop == cols:
            right = max(right, _right_room(ax))
    extra_left = 0.3 if figure._supylabel is not None else 0.0  # noqa: SLF001
    extra_bottom = 0.45 * len(figure.legends)
    margins = {
        "left": min((left[0] + extra_left + 0.1) / width, 0.45),
        "right": 1.0 - min(right / width, 0.35),
        "bottom": min((bottom[-1] + extra_bottom + 0.1) / height, 0.45),
        "top": 1.0 - min((top[0] + 0.1) / height, 0.3),
    }
    span_x = (margins["right"] - margins["left"]) * width
    span_y = (margins["top"] - margins["bottom"]) * height
    gap_x = max(left[1:], default=0.0) + 0.3
    gap_y = max(bottom[:-1] + top[1:], default=0.0) + 0.15
    figure.subplots_adjust(
        wspace=_spacing(span_x, cols, gap_x), hspace=_spacing(span_y, rows, gap_y), **margins
    )


def _spacing(span: float, count: int, gap: float) -> float:
    """subplots_adjust's spacing (a fraction of the mean axes' size) for gaps of `gap` inches."""
    if count <= 1:
        return 0.0
    size = max((span - gap * (count - 1)) / count, 0.2)
    return gap / size


def _label_chars(texts: list[str]) -> int:
    """The longest line of the labels, in characters (mathtext counted as a short number)."""
    longest = 0
    for text in texts:
        for line in text.split("\n"):
            longest = max(longest, 5 if line.startswith("$") else len(line))
    return longest


def _tick_texts(axis) -> list[str]:
    """The tick labels an axis will show, formatted from its locator's ticks within the view
    (fixed labels included): no Tick objects made, no drawing."""
    low, high = sorted(axis.get_view_interval())
    values = [v for v in axis.get_major_locator()() if low - 1e-9 <= v <= high + 1e-9]
    try:
        return list(axis.get_major_formatter().format_ticks(values))
    except (TypeError, ValueError, AttributeError):  # pragma: no cover - needs a renderer
        return ["00000"]


def _tick_size(which: str) -> float:
    import matplotlib

    size = matplotlib.rcParams[f"{which}tick.labelsize"]
    if isinstance(size, int | float):
        return float(size)
    return float(matplotlib.rcParams["font.size"]) * 0.9


def _labelled(axis, side: str) -> bool:
    return axis.get_visible() and bool(axis.get_tick_params(which="major").get(f"label{side}"))


def _left_room(ax) -> float:
    """Inches left of an axes for its y tick labels and label."""
    room = 0.12
    if _labelled(ax.yaxis, "left"):
        room += _label_chars(_tick_texts(ax.yaxis)) * CHAR * _tick_size("y") / INCH + 0.08
    if ax.get_ylabel():
        room += 1.5 * ax.yaxis.label.get_fontsize() / INCH
    return room


def _bottom_room(ax) -> float:
    """Inches below an axes for its x tick labels, label and a legend under it."""
    room = 0.05
    if _labelled(ax.xaxis, "bottom"):
        room += 1.6 * _tick_size("x") / INCH
    if ax.get_xlabel():
        lines = ax.get_xlabel().count("\n") + 1
        room += 1.45 * lines * ax.xaxis.label.get_fontsize() / INCH
    legend = ax.get_legend()
    if legend is not None and legend.get_bbox_to_anchor().y0 < ax.bbox.y0:
        entries = len(legend.get_texts())
        room += 0.2 + 0.2 * -(-entries // max(getattr(legend, "_ncols", 1), 1))
    return room


def _top_room(ax) -> float:
    room = 0.05
    titles = [ax.get_title(loc) for loc in ("left", "center", "right")]
    if any(titles):
        lines = max(title.count("\n") + 1 for title in titles)
        room += (0.8 + 1.2 * lines) * _title_size() / INCH
    if any(child.__class__.__name__ == "SecondaryAxis" for child in ax.child_axes):
        room += 0.3
    return room


def _title_size() -> float:
    import matplotlib

    size = matplotlib.rcParams["axes.titlesize"]
    return float(size) if isinstance(size, int | float) else 11.0


def _right_room(ax) -> float:
    """Inches right of the last column: a legend placed outside the axes."""
    legend = ax.get_legend()
    if legend is None or legend.get_bbox_to_anchor().x0 <= ax.bbox.x1:
        return 0.2
    texts = [t.get_text() for t in legend.get_texts()]
    title = legend.get_title().get_text()
    chars = max(_label_chars(texts) + 3, _label_chars([title]))
    return chars * CHAR * _size(legend.get_texts(), 9.0) / INCH + 0.3


def _size(labels, default: float) -> float:
    return labels[0].get_fontsize() if labels else default


class _Data:
    """What the plots read from a run, read once."""

    def __init__(self, result: RunResult) -> None:
        self.audit: dict[str, Any] = result.audit()
        self.overall: dict[str, Any] = self.audit["overall"]
        self.scenario = result.scenario
        self._result = result
        self._weekly: dict[str, np.ndarray] | None = None
        self._timeseries: dict[str, np.ndarray] | None = None
        seed = int(result.manifest.get("seed") or 0)
        self.post = Posteriors(seed, self.audit.get("confidence", 0.95))

    @property
    def timeseries(self) -> dict[str, np.ndarray]:
        """The time series as numpy columns (region and group as names), one row per period and
        cell; `period_index` numbers the periods 0, 1, ... (numpy only: no pandas to load)."""
        if self._timeseries is None:
            table = self._result.timeseries_table
            columns = {name: to_numpy(table.column(name)) for name in table.column_names}
            if "period" in columns:
                periods, index = np.unique(columns["period"], return_inverse=True)
                columns["period_index"] = index.reshape(-1)
                columns["periods"] = periods
            self._timeseries = columns
        return self._timeseries

    def per_period(self, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Sums of `values` per period (of the chosen `rows`, a mask), for every period."""
        frame = self.timeseries
        index = frame["period_index"]
        if rows is not None:
            index, values = index[rows], values[rows]
        return np.bincount(index, weights=values, minlength=frame["periods"].shape[0])

    @property
    def weekly(self) -> dict[str, np.ndarray]:
        """Counts summed over regions and groups, one value per period; `week` from its day."""
        if self._weekly is None:
            frame = self.timeseries
            skip = ("period", "day", "region", "group", "period_index", "periods")
            weekly = {
                name: self.per_period(values.astype(np.float64)).astype(np.int64)
                for name, values in frame.items()
                if name not in skip and values.dtype.kind in "iu"
            }
            days = np.zeros(frame["periods"].shape[0])
            days[frame["period_index"][::-1]] = frame["day"][::-1]  # each period's first day
            weekly["week"] = days / 7.0
            self._weekly = weekly
        return self._weekly

    def sanctions(self, kind: str | None = None) -> list[str]:
        """Sanction names in the scenario's order (`kind`: only "sanction" or "reward")."""
        present = self.overall.get("sanctions", {})
        return [
            s.name
            for s in self.scenario.sanctions
            if s.name in present and (kind is None or s.kind == kind)
        ]

    def final_scores(self, policy: str) -> np.ndarray | None:
        """Each kept citizen's score at the end of the run; None when no rows were kept."""
        column = f"score_{policy}"
        result = self._result
        if result.citizens_table is not None:
            table = result.citizens_table
            if column not in table.column_names or table.num_rows == 0:
                return None
            return to_numpy(table.column(column))
        if result.path is None:
            return None
        import pyarrow.parquet as pq

        parts = []
        for name in result.manifest.get("files", {}).get("citizens", []):
            path = result.path / name
            if path.is_file():
                part = pq.ParquetFile(path)  # one column read; no dataset module to load
                if column in part.schema_arrow.names:
                    parts.append(to_numpy(part.read(columns=[column]).column(column)))
        return np.concatenate(parts) if parts else None

    def citizen_share(self) -> float:
        """The share of citizens whose rows were kept (1 for all)."""
        kept = self._result.manifest.get("citizen_rows", {})
        rows, citizens = kept.get("rows"), self.overall.get("citizens")
        return rows / citizens if rows and citizens else 1.0

    def groups(self) -> list[str]:
        return in_order(self.audit.get("by_group", {}), [g.name for g in self.scenario.groups])

    def regions(self) -> list[str]:
        return in_order(self.audit.get("by_region", {}), [r.name for r in self.scenario.regions])

    def policies(self) -> list[str]:
        return in_order(self.overall.get("policies", {}), [p.name for p in self.scenario.policies])

    def lists(self) -> list[str]:
        return in_order(self.overall.get("lists", {}), [p.name for p in self.scenario.policies])

    def group_colour(self, group: str) -> str:
        groups = self.groups()
        return PALETTE[groups.index(group) % len(PALETTE)] if group in groups else "#888888"


def in_order(mapping: dict[str, Any], names: list[str]) -> list[str]:
    """The keys of `mapping` in the scenario's order (audit.json sorts its keys), then any other."""
    return [n for n in names if n in mapping] + [k for k in mapping if k not in names]


def _figure(height: float, width: float = WIDTH) -> Figure:
    """A figure laid out by `_fit` once drawn on (not constrained layout: see `_fit`)."""
    return Figure(figsize=(width, height))


def _empty(ax, message: str) -> None:
    """Say why a panel is empty rather than leave blank axes."""
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        wrap=True,
        fontsize=11,
        color="#444444",
        transform=ax.transAxes,
    )


def _thousands(ax, axis: str = "y") -> None:
    """Counts on an axis: whole numbers only, with thousands separators."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(integer=True, nbins=6))
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def _percent_axis(ax, axis: str = "x", decimals: int | None = None) -> None:
    def text(value: float, _: Any) -> str:
        if decimals is None:
            return fmt.percent(value, signed=False) if value else "0%"
        return f"{value * 100:.{decimals}f}%".replace("-", "−")

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(FuncFormatter(text))


# ------------------------------------------------------------------------------------- sanctions


def sanctions_over_time(data: _Data) -> Figure:
    """Small multiples: one panel per sanction, reward and list, each on its own scale."""
    weekly = data.weekly
    kinds = {s.name: s.kind for s in data.scenario.sanctions}
    series: dict[str, tuple[str, np.ndarray, str]] = {}
    for name in data.sanctions():
        if f"{name}_active" in weekly:
            reward = kinds.get(name) == "reward"
            title = fmt.label(name) + (" (reward)" if reward else "")
            colour = PALETTE[2] if reward else PALETTE[0]
            series[name] = (title, weekly[f"{name}_active"], colour)
    for policy in data.scenario.list_policies:
        column = f"list_{policy.name}_listed"
        if column in weekly:
            series[f"list:{policy.name}"] = (
                f"on the list: {fmt.label(policy.name)}",
                weekly[column],
                PALETTE[4],
            )
    idle = [title for title, values, _ in series.values() if not len(values) or values.max() <= 0]
    series = _merged({k: v for k, v in series.items() if v[0] not in idle})
    shown = sorted(series, key=lambda key: (key.startswith("list:"), -series[key][1].max()))
    columns = 4
    rows = max(1, -(-len(shown) // columns))
    tall = max((series[key][0].count("\n") for key in shown), default=0)
    figure = _figure((1.9 + 0.15 * tall) * rows + 0.7)
    if not shown:
        _empty(figure.subplots(), "No sanction, reward or list held anyone in this run.")
        figure.creditsim_alt = "No sanction, reward or list held anyone during the run."
        return figure
    axes = figure.subplots(rows, columns, sharex=True, squeeze=False).ravel()
    week = weekly["week"]
    for ax, key in zip(axes, shown, strict=False):
        title, values, colour = series[key]
        ax.fill_between(week, values, color=colour, alpha=0.18, linewidth=0)
        ax.plot(week, values, color=colour, linewidth=1.6)
        ax.set_title(title, fontsize=9.5)
        ax.set_ylim(0, max(values.max() * 1.25, 1))
        ax.annotate(
            f"{fmt.integer(values[-1])}",
            (week[-1], values[-1]),
            xytext=(-2, 4),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=8.5,
            fontweight="bold",
        )
        _thousands(ax)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
        ax.tick_params(labelsize=8)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    for index, ax in enumerate(axes[: len(shown)]):
        if index + columns >= len(shown):  # nothing drawn below it: it carries the weeks
            ax.set_xlabel("week", fontsize=8.5)
            ax.xaxis.set_tick_params(labelbottom=True)
    figure.supylabel("citizens under it each week (number: the last week)", fontsize=9)
    top = shown[0]
    alt = (
        f"Small line charts, one for each of {len(shown)} sanctions, rewards and lists, of the "
        f"citizens under it week by week; the most widespread, {series[top][0]}, reaches "
        f"{fmt.integer(series[top][1].max())} citizens. At the end of the run: "
        + "; ".join(f"{series[k][0]} {fmt.integer(series[k][1][-1])}" for k in shown)
        + "."
    )
    if idle:
        alt += " Nobody was ever under: " + ", ".join(idle) + "."
    figure.creditsim_alt = alt
    return figure


def _merged(series: dict[str, tuple[str, np.ndarray, str]]) -> dict:
    """Series with the same citizens week by week (sanctions with the same trigger and term)
    drawn once, under all their names: fewer panels to read, and to draw."""
    import textwrap

    groups: dict[tuple[str, bytes], list[str]] = {}
    for key, (_, values, colour) in series.items():
        groups.setdefault((colour, values.tobytes()), []).append(key)
    merged = {}
    for keys in groups.values():
        title, values, colour = series[keys[0]]
        names = ", ".join(series[k][0] for k in keys)
        title = "\n".join(textwrap.wrap(names, 24, max_lines=4, placeholder=" …"))
        merged[keys[0]] = (title, values, colour)
    return merged


def wrongful(data: _Data) -> Figure:
    sanctions = data.overall.get("sanctions", {})
    names = [n for n in data.sanctions("sanction") if sanctions[n]["sanctioned"] > 0]
    figure = _figure(max(3.2, 0.42 * len(names) + 1.6))
    left, right = figure.subplots(1, 2, width_ratios=(1.35, 1))
    if not names:
        _empty(left, "Nobody was sanctioned in this run.")
        alt = "Nobody was sanctioned, so nobody was sanctioned wrongfully."
    else:
        order = sorted(names, key=lambda n: sanctions[n]["wrongful"])
        counts = [sanctions[n]["wrongful"] for n in order]
        spans = [
            data.post.share_interval(sanctions[n]["wrongful"], sanctions[n]["sanctioned"])
            for n in order
        ]
        low = [
            c - lo * sanctions[n]["sanctioned"]
            for c, (lo, _), n in zip(counts, spans, order, strict=True)
        ]
        high = [
            hi * sanctions[n]["sanctioned"] - c
            for c, (_, hi), n in zip(counts, spans, order, strict=True)
        ]
        left.barh(
            [fmt.label(n) for n in order], counts, color=PALETTE[1], xerr=[low, high],
            capsize=2.5, error_kw={"linewidth": 0.9, "ecolor": "#555555"},
        )  # fmt: skip
        ends = [c + h for c, h in zip(counts, high, strict=True)]
        for y, name in enumerate(order):
            entry = sanctions[name]
            left.annotate(
                f" {fmt.integer(entry['wrongful'])} of {fmt.integer(entry['sanctioned'])}"
                f" ({fmt.percent(entry['wrongful'] / entry['sanctioned'])}; "
                f"{fmt.percent(spans[y][0])} to {fmt.percent(spans[y][1])})",
                (ends[y], y),
                va="center",
                fontsize=8,
                color="#333333",
            )
        left.set_xlim(0, max(max(ends), 1) * 1.9)
        left.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        _thousands(left, "x")
        left.set_title("Citizens ever sanctioned wrongfully")
        left.set_xlabel("citizens (label: wrongful of all sanctioned; 95% interval)")
        left.grid(axis="y", visible=False)
        anyone = sanctions.get("any", {})
        alt = (
            f"Bar chart of the citizens sanctioned wrongfully under each sanction; under any "
            f"sanction {fmt.integer(anyone.get('wrongful'))} of "
            f"{fmt.integer(anyone.get('sanctioned'))} were sanctioned wrongfully."
        )
    causes = {
        cause: count
        for cause, count in sanctions.get("any", {}).get("wrongful_by_cause", {}).items()
        if count > 0
    }
    if not causes:
        _empty(right, "No wrongful sanction, so no cause to show.")
    else:
        order = sorted(causes, key=causes.get, reverse=True)  # type: ignore[arg-type]
        counts = [causes[c] for c in order]
        spans = [data.post.interval(data.post.per(count, 1.0)) for count in counts]
        errors = [
            [max(c - lo, 0.0) for c, (lo, _) in zip(counts, spans, strict=True)],
            [max(hi - c, 0.0) for c, (_, hi) in zip(counts, spans, strict=True)],
        ]
        right.barh(range(len(order)), counts, height=0.6, color=PALETTE[0], xerr=errors,
                   capsize=2.5, error_kw={"linewidth": 0.9, "ecolor": "#555555"})  # fmt: skip
        right.set_yticks(range(len(order)), [fmt.label(c) for c in order])
        right.set_ylim(max(len(order), 6) - 0.5, -0.5)  # a few causes: thin bars at the top
        for y, cause in enumerate(order):
            right.annotate(
                f" {fmt.integer(causes[cause])}",
                (counts[y] + errors[1][y], y),
                va="center",
                fontsize=8.5,
            )
        right.set_xlim(0, max(np.add(counts, errors[1])) * 1.3)
        _thousands(right, "x")
        right.set_title("Their causes (any sanction)")
        right.set_xlabel("wrongful sanctions (bars: 95% intervals)")
        right.grid(axis="y", visible=False)
        alt += (
            " Their causes: "
            + ", ".join(f"{fmt.label(c)} {fmt.integer(causes[c])}" for c in order)
            + "."
        )
    figure.creditsim_alt = alt
    return figure


# ------------------------------------------------------------------------------------- disparity

DI_LIMITS = (0.1, 10.0)


def disparity(data: _Data) -> Figure:
    audit = data.audit
    reference = audit.get("reference_group")
    threshold = audit.get("four_fifths_threshold", 0.8)
    groups = [g for g in data.groups() if g != reference]
    outcomes = _disparity_outcomes(data)
    figure = _figure(max(3.0, 0.36 * len(outcomes) * max(1, len(groups)) ** 0.5 + 1.8))
    ax = figure.subplots()
    if not outcomes or not groups:
        _empty(ax, "No outcome to compare between groups in this run.")
        figure.creditsim_alt = "No outcome to compare between groups."
        return figure
    low, high = DI_LIMITS
    ax.axvspan(low, threshold, color=FLAG_COLOUR, zorder=0, label="flagged: outside the band")
    ax.axvspan(1.0 / threshold, high, color=FLAG_COLOUR, zorder=0)
    ax.axvspan(threshold, 1.0 / threshold, color=BAND_COLOUR, zorder=0, label="within the band")
    ax.axvline(1.0, color="#666666", linewidth=0.8, zorder=1)
    flagged = _disparity_points(ax, data, groups, outcomes)
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ticks = [0.1, 0.25, 0.5, threshold, 1.0 / threshold, 2.0, 4.0, 10.0]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(range(len(outcomes)), [_outcome_label(o) for o in outcomes])
    ax.set_ylim(len(outcomes) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(
        f"disparate impact: the group's rate ÷ {reference}'s rate  "
        "(← sanctioned less often · sanctioned more often →)"
    )
    ax.set_title(f"Disparate impact by group, against {reference} (bars: confidence intervals)")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(
        unique.values(),
        unique.keys(),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title="filled: whole interval\noutside the band",
    )
    figure.creditsim_alt = _disparity_alt(groups, reference, outcomes, threshold, flagged)
    return figure


def _disparity_points(ax, data: _Data, groups: list[str], outcomes: list[str]) -> list:
    """Each group's ratio and interval per outcome, drawn; the (group, outcome) pairs flagged
    with the whole interval outside the band."""
    audit = data.audit
    low, high = DI_LIMITS
    offsets = np.linspace(-0.22, 0.22, len(groups)) if len(groups) > 1 else np.zeros(1)
    flagged = []
    for g, group in enumerate(groups):
        colour = data.group_colour(group)
        for y, outcome in enumerate(outcomes):
            entry = audit["by_group"][group]["sanctions"].get(outcome, {})
            value = entry.get("disparate_impact")
            if value is None or not math.isfinite(value):
                continue
            interval = entry.get("disparate_impact_interval") or [value, value]
            lo = min(max(interval[0] if interval[0] is not None else value, low), high)
            hi = min(max(interval[1] if interval[1] is not None else value, low), high)
            point = min(max(value, low), high)
            significant = bool(entry.get("four_fifths_flag_significant"))
            if significant:
                flagged.append((group, outcome))
            ax.errorbar(
                point,
                y + offsets[g],
                xerr=[[point - lo], [hi - point]],
                fmt="o",
                color=colour,
                markerfacecolor=colour if significant else "white",
                markersize=6,
                capsize=2.5,
                linewidth=1.2,
                zorder=3,
                label=group
                if y == 0 or not ax.get_legend_handles_labels()[1].count(group)
                else None,
            )
    return flagged


def _disparity_alt(
    groups: list[str], reference: Any, outcomes: list[str], threshold: float, flagged: list
) -> str:
    alt = (
        f"Dot plot of the disparate-impact ratio of {', '.join(groups)} against {reference} for "
        f"{len(outcomes)} outcomes (the group's rate over {reference}'s), with confidence "
        f"intervals; the flagged zones outside {threshold:g} to {1.0 / threshold:.3g} are "
        "shaded. "
    )
    if flagged:
        alt += (
            "Flagged with the whole interval outside the band: "
            + "; ".join(f"{g}, {fmt.label(o)}" for g, o in flagged)
            + "."
        )
    else:
        alt += "No group's whole interval lies outside the band."
    return alt


def _outcome_label(outcome: str) -> str:
    return "any sanction" if outcome == "any" else fmt.label(outcome)


def _disparity_outcomes(data: _Data) -> list[str]:
    """`any` first, then the score policies' low grades, the lists, and the sanctions, each only
    where somebody was sanctioned in the run."""
    overall = data.overall
    outcomes: list[str] = []
    if overall.get("sanctions", {}).get("any", {}).get("sanctioned", 0) > 0:
        outcomes.append("any")
    for name in data.policies():
        if overall["policies"][name].get("punished", {}).get("sanctioned", 0) > 0:
            outcomes.append(f"policy:{name}")
    for name in data.lists():
        if overall["lists"][name].get("sanctioned", 0) > 0:
            outcomes.append(f"list:{name}")
    for name in data.sanctions():
        if overall["sanctions"][name].get("sanctioned", 0) > 0:
            outcomes.append(name)
    return outcomes


def regions(data: _Data) -> Figure:
    by_region = data.audit.get("by_region", {})
    names = data.regions()
    figure = _figure(max(2.8, 0.45 * len(names) + 1.4))
    left, right = figure.subplots(1, 2)
    if not names:
        _empty(left, "No region in this run.")
        figure.creditsim_alt = "No region in this run."
        return figure
    # A region with nobody in it has no rate (the audit gives None): no bar, "no citizens".
    rates: list[float | None] = []
    wrong: list[float | None] = []
    errors: list[list[float]] = [[], []]
    for name in names:
        entry = by_region[name]
        anyone = entry.get("sanctions", {}).get("any", {})
        citizens = fmt.finite(entry.get("citizens")) or 0.0
        rate = _per_thousand(anyone.get("sanction_rate")) if citizens else None
        interval = anyone.get("intervals", {}).get("sanction_rate") or [None, None]
        low_end, high_end = (_per_thousand(v) for v in (list(interval) + [None, None])[:2])
        rates.append(rate)
        errors[0].append(_span(low_end, rate))
        errors[1].append(_span(rate, high_end))
        wrong.append(
            fmt.finite(fmt.per_thousand(fmt.finite(entry.get("wrongful_records")) or 0, citizens))
        )
    y = np.arange(len(names))
    left.barh(y, _bars(rates), xerr=errors, color=PALETTE[0], capsize=3, error_kw={"linewidth": 1})
    left.set_yticks(y, names)
    left.set_ylim(len(names) - 0.5, -0.5)
    left.set_title("Citizens under any sanction, per 1,000")
    left.set_xlabel("per 1,000 citizens (bars: 95% intervals)")
    left.grid(axis="y", visible=False)
    wrong_errors = _count_errors(data, names, wrong)
    right.barh(y, _bars(wrong), color=PALETTE[1], xerr=wrong_errors, capsize=3,
               error_kw={"linewidth": 1})  # fmt: skip
    right.set_yticks(y, names)
    right.set_ylim(len(names) - 0.5, -0.5)
    right.set_title("Wrongful records, per 1,000 citizens")
    right.set_xlabel("against someone who did not do it (bars: 95% intervals)")
    right.grid(axis="y", visible=False)
    ends = (list(np.add(_bars(rates), errors[1])), list(np.add(_bars(wrong), wrong_errors[1])))
    for ax, values, end in ((left, rates, ends[0]), (right, wrong, ends[1])):
        for index, value in enumerate(values):
            text = " no citizens" if value is None else f" {value:,.1f}"
            ax.annotate(text, (end[index], index), va="center", fontsize=8.5)
        ax.set_xlim(0, max([v for v in end if math.isfinite(v)] + [0.1]) * 1.2)
    known = [index for index, rate in enumerate(rates) if rate is not None]
    if known:
        high = max(known, key=lambda index: rates[index] or 0.0)
        highest = f" (highest in {names[high]}, {rates[high]:,.1f})"
    else:
        highest = " (no region has citizens)"
    figure.creditsim_alt = (
        f"Bar charts by region: citizens under any sanction per 1,000{highest} and wrongful "
        "records per 1,000 citizens."
    )
    return figure


def children(data: _Data) -> Figure:
    figure = _figure(3.2)
    left, right = figure.subplots(1, 2)
    total = data.overall.get("children_reached", 0)
    for ax, key, title in (
        (left, "by_group", "by group"),
        (right, "by_region", "by region"),
    ):
        table = data.audit.get(key, {})
        names = data.groups() if key == "by_group" else data.regions()
        # A group or region with nobody in it has no rate: no bar, "no citizens".
        values = [
            fmt.finite(
                fmt.per_thousand(
                    fmt.finite(table[n].get("children_reached")) or 0,
                    fmt.finite(table[n].get("citizens")) or 0,
                )
            )
            for n in names
        ]
        colours = [data.group_colour(n) for n in names] if key == "by_group" else PALETTE[2]
        y = np.arange(len(names))
        spans = [
            data.post.interval(
                data.post.per(fmt.finite(table[n].get("children_reached")) or 0,
                              fmt.finite(table[n].get("citizens")) or 0)
            )
            for n in names
        ]  # fmt: skip
        errors = [
            [_span(1000.0 * lo if v is not None else None, v) for (lo, _), v in zip(spans, values,
                                                                                    strict=True)],
            [_span(v, 1000.0 * hi if v is not None else None) for (_, hi), v in zip(spans, values,
                                                                                    strict=True)],
        ]  # fmt: skip
        ax.barh(y, _bars(values), color=colours, xerr=errors, capsize=3,
                error_kw={"linewidth": 1})  # fmt: skip
        ax.set_yticks(y, names)
        ax.set_ylim(len(names) - 0.5, -0.5)
        for index, name in enumerate(names):
            value = values[index]
            text = (
                " no citizens"
                if value is None
                else f" {value:,.1f} ({fmt.integer(table[name].get('children_reached'))})"
            )
            end = (value or 0.0) + errors[1][index]
            ax.annotate(text, (end, index), va="center", fontsize=8.5)
        ax.set_xlim(0, max(np.add(_bars(values), errors[1]).tolist() + [0.1]) * 1.45)
        ax.set_title(f"Children reached, {title}")
        ax.set_xlabel("children per 1,000 citizens (label: rate, and count; bars: 95% intervals)")
        ax.grid(axis="y", visible=False)
    figure.creditsim_alt = (
        f"Bar charts of the children reached by sanctions per 1,000 citizens, by group and by "
        f"region; {fmt.integer(total)} children in all."
    )
    return figure


# -------------------------------------------------------------------------------------- mobility


def mobility(data: _Data) -> Figure:
    policies = data.overall.get("policies", {})
    names = [n for n in data.policies() if policies[n].get("mobility")]
    figure = _figure(3.4)
    left, right = figure.subplots(1, 2)
    if not names:
        _empty(left, "No score policy in this run.")
        _empty(right, "")
        figure.creditsim_alt = "No score policy in this run, so no grades to fall or climb."
        return figure
    fell = [policies[n]["mobility"]["fell_to_bottom_grade"] for n in names]
    climbed = [policies[n]["mobility"]["climbed_back"] for n in names]
    y = np.arange(len(names))
    left.barh(y - 0.2, fell, height=0.38, color=PALETTE[1], label="fell to the bottom grade")
    left.barh(y + 0.2, climbed, height=0.38, color=PALETTE[2], label="climbed back out")
    for index in range(len(names)):
        left.annotate(
            f" {fmt.integer(fell[index])}", (fell[index], index - 0.2), va="center", fontsize=8.5
        )
        left.annotate(
            f" {fmt.integer(climbed[index])}",
            (climbed[index], index + 0.2),
            va="center",
            fontsize=8.5,
        )
    left.set_yticks(
        y,
        [f"{n}\n(bottom: {policies[n]['mobility']['bottom_grade']})" for n in names],
    )
    left.set_ylim(len(names) - 0.5, -0.6)
    left.set_xlim(0, max(fell + climbed + [1]) * 1.25)
    left.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    _thousands(left, "x")
    left.set_title("Who falls to the bottom grade, and who climbs back")
    left.set_xlabel("citizens")
    left.legend(loc="lower right")
    left.grid(axis="y", visible=False)
    alt = (
        "Bar chart of the citizens who fell to each policy's bottom grade and who climbed back: "
        + (
            "; ".join(
                f"{n}: {fmt.integer(f)} fell, {fmt.integer(c)} climbed back"
                for n, f, c in zip(names, fell, climbed, strict=True)
            )
        )
        + "."
    )
    drawn = False
    last = 0.0
    for index, name in enumerate(names):
        histogram = policies[name]["mobility"].get("days_to_recover_histogram") or {}
        counts = np.asarray(histogram.get("counts", []), dtype=float)
        if counts.sum() <= 0:
            continue
        width = histogram.get("bin_days", 30)
        edges = np.arange(len(counts) + 1) * width
        colour = PALETTE[index % len(PALETTE)]
        right.stairs(counts, edges, color=colour, fill=True, alpha=0.35)
        right.stairs(counts, edges, color=colour, linewidth=1.6, label=name)
        last = max(last, edges[np.flatnonzero(counts)[-1] + 1])
        drawn = True
    if drawn:
        right.set_title("Time to climb back out")
        right.set_xlim(0, last * 1.15)
        right.set_xlabel("days at the bottom grade before climbing back")
        right.set_ylabel("citizens")
        right.yaxis.set_major_locator(MaxNLocator(integer=True))
        right.legend(loc="upper right")
        alt += " A histogram shows how many days they took."
    else:
        _empty(right, "Nobody who fell to the bottom grade\nclimbed back within the run.")
        alt += " Nobody who fell climbed back within the run."
    figure.creditsim_alt = alt
    return figure


# ------------------------------------------------------------------------------------- behaviour


def behaviour(data: _Data) -> Figure:
    change = data.overall.get("behaviour_change", {})
    categories = {
        name: entry["change_share"]
        for name, entry in change.get("by_category", {}).items()
        if entry.get("change_share") is not None
    }
    behaviours = {
        name: entry["change_share"]
        for name, entry in change.get("by_behaviour", {}).items()
        if entry.get("change_share") is not None
    }
    figure = _figure(max(3.6, 0.24 * len(behaviours) + 1.2))
    left, right = figure.subplots(1, 2)
    if not categories:
        _empty(left, "No change: the system had no effect on behaviour in this run.")
        _empty(right, "")
        figure.creditsim_alt = "No change in behaviour in this run."
        return figure
    _diverging(left, categories, highlight="speech")
    left.set_title("Change by category (speech: the chilling effect)")
    _diverging(right, behaviours, categories_of=_categories(data))
    right.set_title("Change by behaviour")
    for ax in (left, right):
        ax.set_xlabel("events with the system vs. without it, same citizens")
    speech = categories.get("speech")
    offending = change.get("offending", {}).get("change_share")
    alt = (
        "Bar charts of the change in events with the system against the same citizens without "
        "it, by category and by behaviour."
    )
    if offending is not None:
        alt += f" Offending changes by {fmt.percent(offending, signed=True)}."
    if speech is not None:
        alt += f" Speech (posts and rumours) changes by {fmt.percent(speech, signed=True)}."
    figure.creditsim_alt = alt
    return figure


def _categories(data: _Data) -> dict[str, str]:
    return {b.name: b.category for b in data.scenario.behaviours}


def _diverging(
    ax,
    values: dict[str, float],
    highlight: str | None = None,
    categories_of: dict[str, str] | None = None,
) -> None:
    order = sorted(values, key=values.get)  # type: ignore[arg-type]
    shares = [values[n] for n in order]
    colours = []
    for name in order:
        speech = name == highlight or (categories_of or {}).get(name) == "speech"
        colours.append(PALETTE[3] if speech else PALETTE[0] if values[name] < 0 else PALETTE[2])
    y = np.arange(len(order))
    ax.barh(y, shares, color=colours)
    ax.set_yticks(y, [fmt.label(n) for n in order], fontsize=9 if len(order) < 12 else 8)
    ax.set_ylim(-0.6, len(order) - 0.4)
    ax.axvline(0, color="#444444", linewidth=0.8)
    span = max(abs(min(shares + [0])), abs(max(shares + [0])), 0.01)
    ax.set_xlim(-span * 1.5, span * 1.5)
    _percent_axis(ax, "x", decimals=0)
    ax.grid(axis="y", visible=False)
    if len(order) < 12:
        for index, share in enumerate(shares):
            ax.annotate(
                f" {fmt.percent(share, signed=True)} "
                if share >= 0
                else f" {fmt.percent(share, signed=True)} ",
                (share, index),
                va="center",
                ha="left" if share >= 0 else "right",
                fontsize=8.5,
            )


# ---------------------------------------------------------------------------------------- scores


def scores(data: _Data) -> Figure:
    frame = data.timeseries
    shown = [p for p in data.scenario.score_policies if f"score_{p.name}_mean" in frame]
    figure = _figure(3.2 * max(1, len(shown)) + 0.5)
    axes = figure.subplots(max(1, len(shown)), 2, squeeze=False, width_ratios=(1.5, 1))
    if not shown:
        _empty(axes[0, 0], "No score policy in this run.")
        _empty(axes[0, 1], "")
        figure.creditsim_alt = "No score policy in this run."
        return figure
    weight = _cell_weights(data, frame)
    groups = data.groups()
    week = data.weekly["week"]
    alt_parts = []
    for (ax, histogram_ax), policy in zip(axes, shown, strict=True):
        prefix = f"score_{policy.name}"
        low = _per_period_extreme(data, frame[f"{prefix}_p10"], np.fmin)
        high = _per_period_extreme(data, frame[f"{prefix}_p90"], np.fmax)
        mean = _weighted_mean(data, frame[f"{prefix}_mean"], weight)
        ax.fill_between(
            week,
            low,
            high,
            step="post",
            color=PALETTE[0],
            alpha=0.15,
            linewidth=0,
            label="band holding at least 8 in 10 citizens",
        )
        for group in groups:
            rows = frame["group"] == group
            if not rows.any():
                continue
            ax.plot(
                week,
                _weighted_mean(data, frame[f"{prefix}_mean"], weight, rows),
                color=data.group_colour(group),
                linewidth=1.2,
                linestyle=":",
                label=f"mean, {group}",
            )
        ax.plot(week, mean, color="#000000", linewidth=2.0, label="mean, all citizens")
        kind = "" if policy.type == policy.name else f" ({policy.type})"
        ax.set_title(f"{policy.name}{kind}: scores over time")
        ax.set_ylabel(f"score ({policy.minimum:,} to {policy.maximum:,})")
        ax.set_xlabel("weeks since the start of the run")
        _thousands(ax)
        _final_histogram(histogram_ax, data, policy)
        if len(mean):
            alt_parts.append(
                f"{policy.name}: mean {fmt.rate(mean[0], digits=0)} at the start, "
                f"{fmt.rate(mean[-1], digits=0)} at the end; at least 8 in 10 citizens end "
                f"between {fmt.rate(low[-1], digits=0)} and "
                f"{fmt.rate(high[-1], digits=0)}"
            )
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5))
    figure.creditsim_alt = (
        "Line charts of each score policy's mean score and spread over time, and histograms of "
        "the scores at the end with the grade bands. " + "; ".join(alt_parts) + "."
    )
    return figure


def _weighted_mean(
    data: _Data, values: np.ndarray, weights: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """Per period, the mean over the cells (the chosen `rows`) weighted by their citizens: the
    exact mean; NaN for a period with nobody."""
    values = np.asarray(values, dtype=float)
    defined = np.isfinite(values) & (weights > 0)
    total = data.per_period(np.where(defined, values * weights, 0.0), rows)
    weight = data.per_period(np.where(defined, weights, 0.0), rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan)


def _per_period_extreme(data: _Data, values: np.ndarray, pick) -> np.ndarray:
    """Per period, the least (np.fmin) or greatest (np.fmax) of `values` over the cells, NaN
    ignored."""
    frame = data.timeseries
    out = np.full(frame["periods"].shape[0], np.nan)
    pick.at(out, frame["period_index"], np.asarray(values, dtype=float))
    return out


def _final_histogram(ax, data: _Data, policy) -> None:
    """The scores at the end of the run (from the citizen rows kept), with the grade bands."""
    values = data.final_scores(policy.name)
    if values is not None:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
    if values is None or len(values) == 0:
        _empty(ax, "No citizen rows were kept\n(run with --citizen-rows),\nso no histogram.")
        return
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1:
        lo, hi = lo - 10, hi + 10
    bins = np.linspace(lo, hi + 1, min(60, int(hi - lo) + 2))
    ax.hist(values, bins=bins, color=PALETTE[0], log=True)
    ax.set_ylim(bottom=0.7)
    ax.yaxis.set_minor_locator(NullLocator())  # log-scale minor ticks: most of a plot's cost
    bands = sorted(policy.grades, key=lambda b: b.min_score)
    edges = [b.min_score for b in bands[1:]]
    centres, names = [], []
    for index, band in enumerate(bands):
        start = max(band.min_score if index else policy.minimum, bins[0])
        stop = min(edges[index] if index < len(edges) else policy.maximum + 1, bins[-1])
        if stop - start > 0.07 * (bins[-1] - bins[0]):  # room for its name
            centres.append((start + stop) / 2)
            names.append(fmt.label(band.grade))
    for edge in edges:
        if bins[0] < edge < bins[-1]:
            ax.axvline(edge, color="#666666", linewidth=0.8, linestyle="--")
    top = ax.secondary_xaxis("top")
    top.set_xticks(centres, names, fontsize=8)
    top.tick_params(length=0)
    ceiling = _low_grade_ceiling(policy)
    title = "Scores at the end, by grade"
    if ceiling is not None and bins[0] < ceiling:
        low = policy.low_grade or bands[0].grade
        ax.axvspan(bins[0], min(ceiling, bins[-1]), color=FLAG_COLOUR, zorder=0)
        title = f"At the end (red: grade {fmt.label(low)} or below)"
    ax.set_title(title, pad=18)  # above the grade names on the top axis
    sampled = data.citizen_share()
    ax.set_xlabel("score" + ("" if sampled >= 1 else f" (a sample of {fmt.percent(sampled)})"))
    ax.set_ylabel("citizens (log scale)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.grid(axis="x", visible=False)


def _cell_weights(data: _Data, frame: dict[str, np.ndarray]) -> np.ndarray:
    """Citizens in each (region, group) cell of the time series, from the audit's intersections
    (the time series holds each cell's mean score, not its size)."""
    counts: dict[tuple[str, str], int] = {}
    for entry in data.audit.get("intersections", []):
        key = (entry["region"], entry["group"])
        counts[key] = counts.get(key, 0) + entry.get("citizens", 0)
    regions = [r.name for r in data.scenario.regions]
    groups = [g.name for g in data.scenario.groups]

    def name(value: Any, names: list[str]) -> str:
        return names[int(value)] if isinstance(value, int | np.integer) else str(value)

    if not counts:
        return np.ones(frame["period"].shape[0])
    return np.array(
        [
            counts.get((name(r, regions), name(g, groups)), 0)
            for r, g in zip(frame["region"], frame["group"], strict=True)
        ],
        dtype=float,
    )


def _low_grade_ceiling(policy) -> float | None:
    """The score under which a citizen is at or below the policy's low grade."""
    grades = sorted(policy.grades, key=lambda band: band.min_score, reverse=True)
    low = policy.low_grade or grades[-1].grade
    names = [band.grade for band in grades]
    if low not in names:
        return None
    index = names.index(low)
    return float(grades[index - 1].min_score) if index > 0 else None


# ---------------------------------------------------------------------------------- side by side


def side_by_side(data: _Data) -> Figure:
    pairs = data.overall.get("side_by_side", [])
    figure = _figure(3.9 * max(1, len(pairs)))
    axes = figure.subplots(max(1, len(pairs)), 2, squeeze=False)
    if not pairs:
        _empty(axes[0, 0], "Only one score policy in this run: nothing to set side by side.")
        _empty(axes[0, 1], "")
        figure.creditsim_alt = "Only one score policy in this run: nothing to set side by side."
        return figure
    alt = []
    for row, pair in enumerate(pairs):
        a, b = pair["policies"]
        left, right = axes[row]
        only_a, both, only_b = pair[f"only_{a}"], pair["punished_by_both"], pair[f"only_{b}"]
        parts = (
            (f"only {a}", only_a, PALETTE[1]),
            ("both", both, PALETTE[3]),
            (f"only {b}", only_b, PALETTE[0]),
        )
        start = 0
        total = max(only_a + both + only_b, 1)
        for text, count, colour in parts:
            low, high = data.post.interval(data.post.per(count, 1.0))
            left.barh(
                0, count, left=start, color=colour,
                label=f"{text}: {fmt.integer(count)} ({fmt.integer(low)} to {fmt.integer(high)})",
            )  # fmt: skip
            if count / total > 0.08:
                left.text(
                    start + count / 2,
                    0,
                    fmt.integer(count),
                    ha="center",
                    va="center",
                    color="white",
                    fontweight="bold",
                )
            start += count
        left.set_yticks([])
        left.set_xlim(0, total)
        _thousands(left, "x")
        left.set_title(f"Punished by {a}, by {b}, or both")
        left.set_xlabel("citizens at or below each low grade (legend: 95% intervals)")
        left.set_ylim(-0.8, 0.8)
        left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=1)
        left.spines["left"].set_visible(False)
        left.grid(False)
        by_group = pair.get("by_group", {})
        groups = in_order(by_group, data.groups())
        y = np.arange(len(groups))
        # A group with nobody in it has no rate (None): no bar, and a dash for its label.
        rate_a = [_per_thousand(by_group[g].get(f"punished_rate_{a}")) for g in groups]
        rate_b = [_per_thousand(by_group[g].get(f"punished_rate_{b}")) for g in groups]
        ends = []
        for offset, rates, colour, name in ((-0.2, rate_a, PALETTE[1], a),
                                            (0.2, rate_b, PALETTE[0], b)):  # fmt: skip
            errors = _rate_errors(data, groups, rates)
            right.barh(y + offset, _bars(rates), height=0.38, color=colour, label=name,
                       xerr=errors, capsize=2, error_kw={"linewidth": 0.9})  # fmt: skip
            for index, rate in enumerate(rates):
                end = (rate or 0.0) + errors[1][index]
                ends.append(end)
                text = " no citizens" if rate is None else f" {rate:,.2f}"
                right.annotate(text, (end, index + offset), va="center", fontsize=8)
        right.set_xlim(0, max(ends + [0.01]) * 1.25)
        right.set_yticks(y, groups)
        right.set_ylim(len(groups) - 0.5, -0.6)
        right.set_title("Punished per 1,000, by group")
        right.set_xlabel("citizens per 1,000 (bars: 95% intervals)")
        right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
        right.grid(axis="y", visible=False)
        alt.append(
            f"{a} punishes {fmt.integer(pair[f'punished_by_{a}'])} citizens and {b} "
            f"{fmt.integer(pair[f'punished_by_{b}'])}; {fmt.integer(both)} by both"
        )
    figure.creditsim_alt = (
        "A split bar of who each score policy punishes and who both do, and bar charts of the "
        "rate punished by group: " + "; ".join(alt) + "."
    )
    return figure


def _count_errors(data: _Data, regions: list[str], rates: list[float | None]) -> list:
    """Error bars (below, above) of counts per 1,000 citizens of each region: the 95% interval
    of a Poisson count per citizen."""
    below, above = [], []
    table = data.audit.get("by_region", {})
    for region, rate in zip(regions, rates, strict=True):
        citizens = fmt.finite(table.get(region, {}).get("citizens")) or 0
        if rate is None or not citizens:
            below.append(0.0)
            above.append(0.0)
            continue
        low, high = data.post.interval(data.post.per(rate * citizens / 1000.0, citizens))
        below.append(_span(1000.0 * low, rate))
        above.append(_span(rate, 1000.0 * high))
    return [below, above]


def _rate_errors(data: _Data, groups: list[str], rates: list[float | None]) -> list[list[float]]:
    """Error bars (below, above) of rates per 1,000 citizens of each group: the 95% interval of
    the share of the group's citizens."""
    below, above = [], []
    for group, rate in zip(groups, rates, strict=True):
        citizens = fmt.finite(data.audit.get("by_group", {}).get(group, {}).get("citizens")) or 0
        if rate is None or not citizens:
            below.append(0.0)
            above.append(0.0)
            continue
        low, high = data.post.share_interval(round(rate * citizens / 1000.0), citizens)
        below.append(_span(1000.0 * low, rate))
        above.append(_span(rate, 1000.0 * high))
    return [below, above]


def _per_thousand(share: Any) -> float | None:
    """A share of citizens per 1,000; None where the audit has none (a group with nobody)."""
    value = fmt.finite(share)
    return None if value is None else 1000.0 * value


def _span(low: float | None, high: float | None) -> float:
    """An error bar's length from `low` to `high`; none where either end is absent."""
    return 0.0 if low is None or high is None else max(high - low, 0.0)


def _bars(values: list[float | None]) -> list[float]:
    """Bar lengths: an absent value draws no bar."""
    return [0.0 if value is None else value for value in values]


DRAW: dict[str, Callable[[_Data], Figure]] = {
    "sanctions": sanctions_over_time,
    "wrongful": wrongful,
    "disparity": disparity,
    "regions": regions,
    "children": children,
    "mobility": mobility,
    "behaviour": behaviour,
    "scores": scores,
    "side_by_side": side_by_side,
}

__all__ = ["KINDS", "plot"]
