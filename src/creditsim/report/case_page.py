"""A citizen's case file as one self-contained HTML page (templates/case.html): the story, the
timeline with the truth beside each record, the scores as small step charts (inline SVG drawn
here: no matplotlib), lists, sanctions, appeals and the children reached.

The same page is `creditsim case RUN CITIZEN --html FILE` and the dashboard's
/runs/{id}/case/{citizen}; `child_link` (a format string with `{citizen}`) links the children
to their own case files where a server can serve them.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from creditsim.figures import numbers as fmt
from creditsim.report.render import made_at, raw, render

AGE_WORDS = {"child": "child", "young": "young adult", "adult": "adult", "senior": "senior"}

if TYPE_CHECKING:
    from creditsim.workflow.case import CaseFile


def render_case(case: CaseFile, child_link: str | None = None) -> str:
    """The case file as HTML text."""
    who, run, counts = case.citizen, case.run, case.counts
    facts = [
        ("Citizen", f"{who['id']} (synthetic)"),
        ("Group", who["group"]),
        ("Region", f"{who['region']} ({'urban' if who['urban'] else 'rural'})"),
        ("Age", AGE_WORDS.get(who["age_band"], who["age_band"])),
        ("Income", who["income_band"]),
        ("Household", f"{who['household']}, with {who['children']} children"),
        ("Exempt", "yes: their records may be dropped" if who["exempt"] else "no"),
    ]
    counts_line = (
        f"In {fmt.integer(run['days'])} days: {fmt.integer(counts['true_events'])} true acts "
        f"({fmt.integer(counts['true_offences'])} offences), {fmt.integer(counts['records'])} "
        f"records about them, {fmt.integer(counts['wrongful_records'])} of them wrongful "
        "(about something someone else did, or nothing at all)."
    )
    return render(
        "case.html",
        title=f"Case file: citizen {who['id']}",
        subtitle=f"a synthetic citizen of the run “{run['scenario']}”: "
        f"{fmt.integer(run['population'])} citizens over {fmt.integer(run['days'])} days",
        story=case.story,
        facts=facts,
        counts_line=counts_line,
        timeline=_timeline(case),
        scores=[_score(score, run["days"]) for score in case.scores],
        measures=_measures(case),
        children=[
            {"id": child, "href": child_link.format(citizen=child) if child_link else None}
            for child in case.children
        ],
        children_line=_children_line(case),
        made=made_at(),
        scenario=run["scenario"],
        seed=run["seed"],
        scenario_hash=run.get("scenario_hash") or "?",
    )


def _words(name: str) -> str:
    return name.replace("_", " ")


def _timeline(case: CaseFile) -> list[dict[str, Any]]:
    items = []
    me = case.citizen["id"]
    for item in case.timeline():
        what = item["what"]
        if what == "act":
            items.append(_act(item, me))
        elif what == "record":
            if item["wrongful"]:
                items.append(
                    {"day": item["day"], "klass": "record wrong", "tag": "recorded against them",
                     "believed": f"{_words(item['kind'])}, by the {item['channel']} channel",
                     "truth": f"wrongful: {item['truth']}"}
                )  # fmt: skip
            # A correct record is shown with the act it records.
        else:
            items.append(_measure_item(item))
    return items


def _act(item: dict[str, Any], me: int) -> dict[str, Any]:
    recorded = item["recorded"]
    if not recorded:
        believed = "nothing: no record was made of it"
    else:
        parts = []
        for record in recorded:
            whom = "them" if record["against"] == me else f"citizen {record['against']}"
            parts.append(f"recorded by the {record['channel']} channel against {whom}")
        believed = "; ".join(parts)
    kind = "an offence" if item["offence"] else "not an offence"
    return {
        "day": item["day"],
        "klass": "act wrong" if item["recorded_against_others"] else "act",
        "tag": "the system saw",
        "believed": believed,
        "truth": f"they did it: {_words(item['behaviour'])} ({item['category']}, {kind})",
    }


def _measure_item(item: dict[str, Any]) -> dict[str, Any]:
    name = (
        f"on the list: {_words(item['list'])}"
        if item["what"] == "list"
        else _words(item["sanction"])
    )
    until = "the end of the run" if item["end"] is None else f"day {item['end']}"
    return {
        "day": item["day"],
        "klass": f"{item['what']}{' wrong' if item['wrongful'] else ''}",
        "tag": "the system did",
        "believed": f"{name}, until {until} ({fmt.integer(item['days'])} days)",
        "truth": _truth_words(item),
    }


def _truth_words(item: dict[str, Any]) -> str:
    if item["wrongful"]:
        return "wrongful: their own, correctly attributed records would not have triggered it"
    if item.get("deserved"):
        return "their own records justify it, as the truth does"
    return "their own records justify it (the truth alone would not: some offences were missed)"


def _appeal_words(appeal: dict[str, bool]) -> str:
    if not appeal["filed"]:
        return "No appeal."
    if appeal["lifted"]:
        return "They appealed, won, and it was lifted early."
    if appeal["ruled_insincere"]:
        return "They appealed and won, but the apology was ruled insincere: it stayed."
    if appeal["upheld"]:
        return "They appealed and won, too late to shorten it."
    return "They appealed and lost."


def _measures(case: CaseFile) -> list[dict[str, Any]]:
    out = []
    for entry in [*case.lists, *case.sanctions]:
        is_list = "list" in entry
        name = f"list: {_words(entry['list'])}" if is_list else _words(entry["sanction"])
        if not is_list and entry["kind"] == "reward":
            name += " (a reward)"
        until = "the end of the run" if entry["end"] is None else f"day {entry['end']}"
        more = []
        if entry.get("denied_purchases"):
            more.append(f"{len(entry['denied_purchases'])} ticket purchases denied")
        if entry.get("children_reached"):
            more.append(f"it reached {entry['children_reached']} children at home")
        out.append(
            {
                "name": name,
                "when": f"from day {entry['start']} until {until}, {entry['days']} days",
                "wrongful": entry["wrongful"],
                "truth": _truth_words(entry)[0].upper() + _truth_words(entry)[1:] + ".",
                "appeal": _appeal_words(entry["appeal"]),
                "more": ("; ".join(more).capitalize() + ".") if more else "",
            }
        )
    return out


def _children_line(case: CaseFile) -> str:
    reached = [s for s in case.sanctions if s["children_reached"]]
    children = len(case.children)
    if not children:
        return "No child lives in their household."
    if not reached:
        return (
            f"{children} {'child lives' if children == 1 else 'children live'} in their "
            "household; no sanction of theirs reached them."
        )
    names = ", ".join(sorted({_words(s["sanction"]) for s in reached}))
    return (
        f"{children} {'child lives' if children == 1 else 'children live'} in their household, "
        f"reached by their {names}."
    )


def _score(score: dict[str, Any], days: int) -> dict[str, Any]:
    steps = [(0, score["start"]), *((s["day"], s["score"]) for s in score["steps"])]
    changes = "; ".join(f"day {c['day']}: {c['from']} to {c['to']}" for c in score["grade_changes"])
    caption = (
        f"{score['policy']} ({score['type']}): {fmt.integer(score['start'])} at the start, "
        f"{fmt.integer(score['final'])} at the end (grade {score['final_grade']}); "
        f"{len(score['steps'])} days with records that moved it."
    )
    return {
        "title": f"{score['policy']} ({score['type']})",
        "svg": raw(_step_svg(steps, score["final"], days)),
        "caption": caption,
        "grades": changes,
        "exact": score["replay_exact"],
    }


def _step_svg(steps: list[tuple[int, int]], final: int, days: int) -> str:
    """A step chart of a score over the run's days, as inline SVG (scales to its box)."""
    width, height, pad = 600.0, 140.0, 28.0
    values = [v for _, v in steps] + [final]
    low, high = min(values), max(values)
    if high - low < 10:
        low, high = low - 5, high + 5

    def x(day: float) -> float:
        return pad + (width - 2 * pad) * day / max(days, 1)

    def y(value: float) -> float:
        return height - pad + (value - low) / (high - low) * (2 * pad - height)

    points = []
    for index, (day, value) in enumerate(steps):
        if index:
            points.append(f"{x(day):.1f},{y(steps[index - 1][1]):.1f}")
        points.append(f"{x(day):.1f},{y(value):.1f}")
    points.append(f"{x(days):.1f},{y(steps[-1][1]):.1f}")
    label = escape(f"Score from {steps[0][1]:,} on day 0 to {steps[-1][1]:,} on day {steps[-1][0]}")
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{label}" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#999" stroke-width="1"/>'
        f'<polyline fill="none" stroke="#0072B2" stroke-width="2.5" '
        f'points="{" ".join(points)}"/>'
        f'<text x="{pad}" y="{pad - 10}" font-size="13" fill="#333">{high:,}</text>'
        f'<text x="{pad}" y="{height - 8}" font-size="13" fill="#333">day 0 · {low:,}</text>'
        f'<text x="{width - pad}" y="{height - 8}" font-size="13" fill="#333" '
        f'text-anchor="end">day {days}</text></svg>'
    )


# ------------------------------------------------------------------------ the command line


def check_output(path: Path | None, option: str) -> None:
    """Refuse, before anything runs, a file that cannot be written (ReportError)."""
    from creditsim.report.loading import ReportError

    if path is None:
        return
    if path.is_dir():
        raise ReportError(f"{option} {path}: is a directory; give the name of the file to write")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ReportError(f"{option} {path}: the folder {parent} does not exist")


def write_case(case: CaseFile, html: Path | None, json_path: Path | None) -> list[Path]:
    """The case file written as HTML and/or JSON, each whole or not at all."""
    from creditsim.outputs import write_text

    written = []
    if html is not None:
        write_text(render_case(case), html)
        written.append(html)
    if json_path is not None:
        write_text(case.to_json() + "\n", json_path)
        written.append(json_path)
    return written


def print_case(case: CaseFile, console: Any) -> None:
    """The case for a terminal (Rich): the story, then the timeline with the truth beside it,
    then the lists and sanctions."""
    from rich.markup import escape as rich_escape
    from rich.panel import Panel
    from rich.table import Table

    who = case.citizen
    console.print(
        Panel(
            "\n".join(f"• {rich_escape(line)}" for line in case.story),
            title=f"Case file: citizen {who['id']} (synthetic)",
            subtitle=f"run “{rich_escape(case.run['scenario'])}”, seed {case.run['seed']}",
        )
    )
    timeline = Table(title="Timeline: what the system saw or did, and the truth", expand=True)
    timeline.add_column("day", justify="right", no_wrap=True)
    timeline.add_column("the system")
    timeline.add_column("the truth")
    for item in _timeline(case):
        wrong = "wrong" in item["klass"]
        style = "bold red" if wrong else None
        timeline.add_row(
            str(item["day"]), rich_escape(item["believed"]), rich_escape(item["truth"]),
            style=style,
        )  # fmt: skip
    if timeline.row_count:
        console.print(timeline)
    else:
        console.print("Nothing happened to or by this citizen during the run.")
    for score in case.scores:
        console.print(_score(score, case.run["days"])["caption"])
    console.print(rich_escape(_children_line(case)))


__all__ = ["check_output", "print_case", "render_case", "write_case"]
