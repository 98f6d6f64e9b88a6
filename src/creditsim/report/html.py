"""One self-contained HTML file that a journalist can read and hand on.

Plots are embedded as SVG data (text drawn as paths, so no font is fetched), the style sheet is
inline, there is no script, and a Content-Security-Policy forbids loading anything from outside:
the file opens with no network. Numbers are written for people (thousands separators,
percentages); every figure has alt text and every table a caption.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from html import escape
from typing import TYPE_CHECKING, Any

from creditsim.audit.disparity import POPULATION
from creditsim.figures import numbers as fmt
from creditsim.report.loading import Comparison
from creditsim.version import __version__
from creditsim.workflow.targets import (
    TargetError,
    gap_table,
    load_targets,
    shipped_targets,
)

if TYPE_CHECKING:
    from creditsim.result import RunResult
    from creditsim.scenario import Scenario

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; margin: 0; color: #1b1b1b; background: #fff; line-height: 1.5; }
main { max-width: 62rem; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; }
header.top { background: #14213d; color: #fff; }
header.top div { max-width: 62rem; margin: 0 auto; padding: 1.5rem; }
header.top h1 { margin: 0 0 .3rem; font-size: 1.9rem; line-height: 1.2; }
header.top p { margin: 0; color: #dfe6f3; }
h2 { font-size: 1.45rem; margin: 2.6rem 0 .6rem; padding-top: .6rem;
  border-top: 3px solid #14213d; }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
p, li { max-width: 48rem; }
nav.toc { background: #f3f5f9; border: 1px solid #d9dee8; padding: .6rem 1.2rem;
  margin-top: 1.5rem; }
nav.toc h2 { border: 0; margin: .2rem 0; padding: 0; font-size: 1rem; }
nav.toc ol { margin: .2rem 0 .4rem; columns: 2; column-gap: 2rem; }
nav.toc a { color: #14213d; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(13.5rem, 1fr));
  gap: .8rem; margin: 1rem 0; padding: 0; list-style: none; }
.cards li { border: 1px solid #d9dee8; border-left: 5px solid #0072B2; padding: .6rem .8rem;
  background: #fafbfd; }
.cards li.alert { border-left-color: #D55E00; }
.cards .value { display: block; font-size: 1.55rem; font-weight: 700;
  font-variant-numeric: tabular-nums; }
.cards .what { display: block; font-size: .92rem; color: #333; }
.cards .more { display: block; font-size: .82rem; color: #555; }
table { border-collapse: collapse; margin: .8rem 0 1.4rem; width: 100%; font-size: .92rem; }
caption { text-align: left; font-weight: 700; padding: .3rem 0; caption-side: top; }
th, td { border-bottom: 1px solid #dde2ea; padding: .3rem .5rem; vertical-align: top; }
thead th { background: #eef1f6; text-align: left; border-bottom: 2px solid #b9c2d3; }
tbody th { text-align: left; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
.wide { overflow-x: auto; }
table.compact { width: auto; min-width: 24rem; }
details { margin: .6rem 0 1rem; }
summary { cursor: pointer; color: #14213d; }
tr.flag td, tr.flag th { background: #fdf0ec; }
figure { margin: 1rem 0 1.6rem; }
figure img { width: 100%; height: auto; display: block; border: 1px solid #e4e7ee; }
figcaption { font-size: .9rem; color: #444; margin-top: .35rem; }
.note { background: #fff8e6; border-left: 4px solid #E69F00; padding: .6rem .9rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.2rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
footer { margin-top: 3rem; font-size: .85rem; color: #555; }
@media print { nav.toc { display: none; } figure { break-inside: avoid; } }
"""

CAUSE_WORDS = {
    "face_misidentification": "face identification matched the wrong person",
    "plate_owner": "a plate reader recorded the car's owner, not the driver",
    "platform_false_positive": "a platform flagged a post or purchase that was not an offence",
    "false_informant_report": "an informant reported something that did not happen",
    "data_merge": "records of another person with the same name were merged in",
    "insider": "an insider changed the record",
    "coordinated_false_report": "a coordinated campaign of false reports",
    "score_swap": "a hack swapped top and bottom scores",
}


class _Builder:
    """Collects sections, and the table of contents that lists them."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []

    def section(self, anchor: str, title: str, *body: str) -> None:
        self.toc.append((anchor, title))
        inner = "\n".join(part for part in body if part)
        self.parts.append(
            f'<section id="{anchor}" aria-labelledby="{anchor}-h">\n'
            f'<h2 id="{anchor}-h">{escape(title)}</h2>\n{inner}\n</section>'
        )

    def nav(self) -> str:
        items = "".join(f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in self.toc)
        return (
            '<nav class="toc" aria-labelledby="toc-h"><h2 id="toc-h">Contents</h2>'
            f"<ol>{items}</ol></nav>"
        )


# ------------------------------------------------------------------------------------ primitives


def paragraph(text: str) -> str:
    return f"<p>{text}</p>"


def note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def table(
    caption: str,
    header: list[str],
    rows: list[list[Any]],
    numeric: set[int] | None = None,
    flags: list[bool] | None = None,
    compact: bool = False,
) -> str:
    """A table with a caption; the first cell of each row is its header; `numeric` columns are
    right-aligned. Cells are escaped unless they are `Raw`."""
    numeric = numeric or set()
    head = "".join(
        f'<th scope="col"{" class=num" if i in numeric else ""}>{escape(h)}</th>'
        for i, h in enumerate(header)
    )
    body = []
    for index, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            text = cell if isinstance(cell, Raw) else escape(str(cell))
            klass = ' class="num"' if i in numeric else ""
            cells.append(
                f'<th scope="row"{klass}>{text}</th>' if i == 0 else f"<td{klass}>{text}</td>"
            )
        flag = ' class="flag"' if flags and flags[index] else ""
        body.append(f"<tr{flag}>{''.join(cells)}</tr>")
    return (
        f'<div class="wide"><table{COMPACT if compact else ""}>'
        f"<caption>{escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


COMPACT = ' class="compact"'


class Raw(str):
    """HTML to put in a table cell as it is."""


def figure(fig, caption: str) -> str:
    """A matplotlib Figure as an <img> of SVG data, with its alt text and a caption."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = getattr(fig, "creditsim_alt", caption)
    width, height = (round(v * 72) for v in fig.get_size_inches())
    return (
        f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{escape(alt, quote=True)}" '
        f'width="{width}" height="{height}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def document(title: str, subtitle: str, builder: _Builder, footer: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="creditsim {escape(__version__)}">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f'<header class="top"><div><h1>{escape(title)}</h1><p>{subtitle}</p></div></header>\n'
        f"<main>\n{builder.nav()}\n" + "\n".join(builder.parts) + f"\n<footer>{footer}</footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{fmt.integer(count)} {word if count == 1 else plural or word + 's'}"


# ------------------------------------------------------------------------------------------- run


def render_run(result: RunResult, targets: str | Any | None = None) -> str:
    """The report of one run, as HTML text. `targets`: a targets file or scenario name, None for
    the scenario's shipped targets where it has them, False for none."""
    from creditsim.figures.plots import plot

    scenario = result.scenario
    audit = in_scenario_order(result.audit(), scenario)
    overall = audit["overall"]
    manifest = result.manifest
    gap = gap_rows(audit, result, targets)  # first: a bad targets file fails before the plots
    figures = {kind: plot(result, kind) for kind in _kinds()}
    build = _Builder()
    build.section("simulated", "What was simulated", *_simulated(result))
    build.section("headlines", "The headline numbers", _headlines(audit, manifest))
    build.section(
        "sanctions",
        "Sanctions over time",
        paragraph(
            "How many citizens were under each sanction (and each reward) week by week. A "
            "sanction is switched on by a low grade, by being on a list, or by records of "
            "certain acts; its term runs for a set number of days."
        ),
        figure(
            figures["sanctions"],
            "Citizens under each sanction, reward and list, week by week (each panel has its own "
            "scale; the number is the count in the last week).",
        ),
        _sanctions_table(audit, scenario),
        _lists_table(overall),
    )
    build.section("wrongful", "Wrongful sanctions and their causes", *_wrongful(audit, figures))
    build.section("disparity", "Disparity by group", *_disparity(audit, figures))
    build.section("regions", "By region", *_regions(audit, figures))
    build.section("children", "Children reached", *_children(audit, figures))
    build.section("mobility", "Who climbs back", *_mobility(overall, figures))
    build.section("behaviour", "The effect on behaviour and speech", *_behaviour(overall, figures))
    build.section(
        "scores",
        "Scores over time",
        paragraph(
            "Each score policy's scores week by week: the black line is the mean of all "
            "citizens, the dotted lines each group's mean, and the shaded band holds at least "
            "8 in 10 citizens (it runs from the lowest 10th percentile to the highest 90th "
            "percentile among regions and groups). On the right, how the scores ended, with "
            "the grade bands; the red zone is the grade the audit counts as punished."
        ),
        figure(figures["scores"], "Each score policy's scores over time, and at the end."),
    )
    build.section(
        "side-by-side",
        "The social credit score beside a FICO-like score",
        *_side_by_side(overall, figures),
    )
    build.section("published", "The gap to the published figures", *_published(audit, gap))
    build.section("limits", "How to read this, and its limits", *_limits(scenario))
    title = f"creditsim report: {scenario.name}"
    subtitle = escape(
        f"{fmt.integer(overall['citizens'])} synthetic citizens over "
        f"{_years(manifest.get('years'))}, seed {manifest.get('seed')}"
    )
    return document(title, subtitle, build, _footer(manifest))


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


def _kinds() -> list[str]:
    from creditsim.figures.plots import KINDS

    return list(KINDS)


def _years(years: Any) -> str:
    if years is None:
        return "an unknown time"
    value = float(years)
    return "one year" if value == 1 else f"{value:g} years"


def _footer(manifest: dict[str, Any]) -> str:
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return escape(
        f"Made by creditsim {__version__} on {made} from a run made by creditsim "
        f"{manifest.get('creditsim_version', '?')} (scenario hash "
        f"{manifest.get('scenario_hash', '?')}). Every citizen in it is synthetic."
    )


def _simulated(result: RunResult) -> list[str]:
    manifest = result.manifest
    scenario = result.scenario
    facts = [
        ("Scenario", scenario.name),
        ("Description", scenario.description or "(none given)"),
        ("Citizens", f"{fmt.integer(manifest.get('population'))} (synthetic)"),
        (
            "Simulated time",
            f"{_years(manifest.get('years'))} ({fmt.integer(manifest.get('days'))} days)",
        ),
        ("Seed", str(manifest.get("seed"))),
        ("creditsim version", str(manifest.get("creditsim_version", "?"))),
        ("Scenario hash", str(manifest.get("scenario_hash", "?"))),
    ]
    if result.path is not None:
        facts.append(("Run directory", str(result.path)))
    listing = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    items = "".join(f"<li>{escape(m)}</li>" for m in mechanisms(scenario))
    return [
        f'<dl class="facts">{listing}</dl>',
        "<h3>Mechanisms switched on</h3>",
        f"<ul>{items}</ul>",
    ]


def mechanisms(scenario: Scenario) -> list[str]:
    """What the scenario switches on, in plain words, one line each."""
    if not scenario.system_enabled:
        return [
            "No social credit system at all: no records, scores or sanctions. This is the "
            "counterfactual, the same citizens and behaviour without the system."
        ]
    out: list[str] = []
    channels = scenario.channels
    if channels.camera.enabled:
        text = (
            "Street cameras with 1:N face identification, which now and then match the wrong "
            f"person (it identifies {fmt.percent(channels.camera.true_identification_rate)} of "
            "those it sees)"
        )
        worse = {g: m for g, m in channels.camera.fpir_multiplier_by_group.items() if m != 1}
        if worse:
            text += (
                "; it mistakes people of some groups more often ("
                + ", ".join(f"{g} ×{m:g}" for g, m in worse.items())
                + ")"
            )
        out.append(text)
    if channels.plate.enabled:
        out.append("Number-plate readers, which record the car's owner, not always the driver")
    offices = [
        name
        for name, label in (
            ("transport", "transport checks"),
            ("court", "courts"),
            ("tax", "tax offices"),
            ("registry", "registries"),
        )
        if getattr(channels, name).enabled
        for name in [label]
    ]
    if offices:
        out.append("Records from " + ", ".join(offices))
    if channels.platform.enabled:
        out.append(
            "Monitoring of online platforms: posts and purchases flagged, "
            f"{fmt.percent(1 - channels.platform.precision)} of flags wrongly"
        )
    if channels.informant.enabled:
        text = f"Informants' reports ({fmt.percent(channels.informant.false_share)} of them false)"
        if channels.informant.informer_points:
            text += "; informing earns points"
        out.append(text)
    if channels.merges.enabled:
        out.append("Data pooled from many sources, with some records of same-name people merged")
    for policy in scenario.score_policies:
        kind = {
            "points": "A points score",
            "sesame": "A Sesame-Credit-like private score",
            "fico": "A FICO-like credit score",
        }.get(policy.type, "A score")
        text = (
            f"{kind}, “{policy.name}”, from {policy.minimum:,} to {policy.maximum:,} "
            f"(everyone starts at {policy.start:,}), graded "
            + ", ".join(
                fmt.label(band.grade) for band in sorted(policy.grades, key=lambda b: -b.min_score)
            )
        )
        if policy.reads_channels:
            text += f"; it reads only {', '.join(policy.reads_channels)} records"
        if not policy.published:
            text += "; its rules are secret"
        if policy.restore_after_days:
            text += f"; deductions are restored after {policy.restore_after_days:,} quiet days"
        out.append(text)
    for listed in scenario.list_policies:
        out.append(
            f"A list, “{fmt.label(listed.name)}”: entered on records of "
            + ", ".join(fmt.label(b) for b in listed.entry_behaviours)
            + "; left by "
            + ", ".join(listed.removal)
        )
    sanctions = [s for s in scenario.sanctions if s.kind == "sanction"]
    rewards = [s for s in scenario.sanctions if s.kind == "reward"]
    if sanctions:
        reaching = [s for s in sanctions if s.reach != "person"]
        names = ", ".join(fmt.label(s.name) for s in sanctions)
        text = f"{_plural(len(sanctions), 'sanction')} ({names})"
        if reaching:
            text += f"; {len(reaching)} reach the family (children or the whole household)"
        published = [s for s in sanctions if s.publishes_name]
        if published:
            text += "; names are published by " + ", ".join(fmt.label(s.name) for s in published)
        out.append(text)
    if rewards:
        names = ", ".join(fmt.label(s.name) for s in rewards)
        out.append(f"{_plural(len(rewards), 'reward')} for the well graded ({names})")
    if scenario.appeals.enabled:
        out.append("Appeals, more often by the better off; some succeed")
    targeting = scenario.targeting
    for channel, multipliers in targeting.detection_multiplier_by_group.items():
        groups = {g: m for g, m in multipliers.items() if m != 1}
        if groups:
            out.append(
                f"Unequal by design: {channel} detection raised for "
                + ", ".join(f"{g} (×{m:g})" for g, m in groups.items())
            )
    if targeting.pooling_multiplier_by_group:
        out.append("Unequal by design: more of some groups' records pooled nationally")
    exemptions = scenario.exemptions
    if exemptions.share > 0 or exemptions.share_by_group:
        out.append("Exemptions: some citizens (officials, the well connected) are spared")
    attacks = scenario.attacks
    for enabled, text in (
        (attacks.insider.enabled, "An insider changes some citizens' scores"),
        (attacks.false_reports.enabled, "A coordinated campaign of false reports"),
        (attacks.leak.enabled, "A database left open: records exposed"),
        (attacks.score_swap.enabled, "A hack that swaps top and bottom scores"),
    ):
        if enabled:
            out.append(text)
    response = scenario.response
    if response.enabled:
        if response.deterrence.enabled:
            out.append("Citizens respond: fear of detection deters offences and chills speech")
        if response.gaming.enabled and response.gaming.uplift > 0:
            out.append("Gaming: some acts are done for the points they earn")
        if response.informing.enabled and response.informing.uplift > 0:
            out.append("Reports rise where informing earns points")
        if response.giving_up.enabled:
            out.append("Giving up: citizens at the bottom grade stop being deterred")
    return out


def _card(value: str, what: str, more: str = "", alert: bool = False) -> str:
    klass = ' class="alert"' if alert else ""
    extra = f'<span class="more">{escape(more)}</span>' if more else ""
    return (
        f'<li{klass}><span class="value">{escape(value)}</span>'
        f'<span class="what">{escape(what)}</span>{extra}</li>'
    )


def _headlines(audit: dict[str, Any], manifest: dict[str, Any]) -> str:
    overall = audit["overall"]
    citizens = overall["citizens"]
    scale = POPULATION / max(citizens, 1)
    anyone = overall.get("sanctions", {}).get("any", {})
    sanctioned = anyone.get("sanctioned", 0)
    wrongful = anyone.get("wrongful", 0)
    change = overall.get("behaviour_change", {})
    offending = change.get("offending", {}).get("change_share")
    speech = change.get("by_category", {}).get("speech", {}).get("change_share")
    wrong_share = overall.get("wrongful_records", 0) / max(overall.get("records", 0), 1)
    cards = [
        _card(
            fmt.integer(citizens),
            "synthetic citizens simulated",
            f"in {fmt.integer(overall.get('households'))} households",
        ),
        _card(
            fmt.integer(overall.get("records")),
            "records made about citizens",
            f"from {fmt.integer(overall.get('true_events'))} true events",
        ),
        _card(
            fmt.integer(overall.get("wrongful_records")),
            "wrongful records",
            f"{fmt.percent(wrong_share)} of all records: against someone who did not do it",
            alert=True,
        ),
        _card(
            fmt.integer(sanctioned),
            "citizens under a sanction",
            f"{fmt.percent(sanctioned / max(citizens, 1))} of citizens; about "
            f"{fmt.integer(sanctioned * scale)} at the scale of 1.4 billion",
        ),
        _card(
            fmt.integer(wrongful),
            "of them sanctioned wrongfully",
            f"{fmt.percent(wrongful / sanctioned) if sanctioned else '0%'} of the sanctioned",
            alert=True,
        ),
        _card(
            fmt.integer(overall.get("children_reached")),
            "children reached by a sanction",
            "living with a sanctioned parent whose sanction reaches the family",
        ),
    ]
    if offending is not None:
        cards.append(
            _card(
                fmt.percent(offending, signed=True),
                "change in offending",
                "the same citizens with the system, against without it",
            )
        )
    if speech is not None:
        cards.append(
            _card(
                fmt.percent(speech, signed=True),
                "change in speech: the chilling effect",
                "critical posts and rumours",
                alert=speech < 0,
            )
        )
    flagged = audit.get("flagged_significant", [])
    cards.append(
        _card(
            fmt.integer(len(flagged)),
            "outcomes flagged outside the band 0.8 to 1.25",
            "; ".join(_flag_words(f) for f in flagged[:4]) + (" …" if len(flagged) > 4 else "")
            if flagged
            else "no group's whole confidence interval lies outside the band",
            alert=bool(flagged),
        )
    )
    return (
        '<ul class="cards" aria-label="headline numbers">'
        + "".join(cards)
        + "</ul><details><summary>The same numbers as a table</summary>"
        + table(
            "The headline numbers",
            ["measure", "value"],
            [
                ["synthetic citizens", fmt.integer(citizens)],
                ["true events (acts committed)", fmt.integer(overall.get("true_events"))],
                ["true offences", fmt.integer(overall.get("true_offences"))],
                ["records", fmt.integer(overall.get("records"))],
                ["wrongful records", fmt.integer(overall.get("wrongful_records"))],
                ["citizens under any sanction", fmt.integer(sanctioned)],
                ["sanctioned wrongfully", fmt.integer(wrongful)],
                ["children reached", fmt.integer(overall.get("children_reached"))],
                ["households reached", fmt.integer(overall.get("households_reached"))],
                ["change in offending", fmt.percent(offending, signed=True)],
                ["change in speech", fmt.percent(speech, signed=True)],
            ],
            numeric={1},
            compact=True,
        )
        + "</details>"
    )


def _flag_words(flag: str) -> str:
    group, _, outcome = flag.partition(":")
    return f"{group}: {fmt.label(outcome) if outcome != 'any' else 'any sanction'}"


def _sanctions_table(audit: dict[str, Any], scenario: Scenario) -> str:
    overall = audit["overall"]
    entries = overall.get("sanctions", {})
    rows = []
    for sanction in scenario.sanctions:
        entry = entries.get(sanction.name)
        if entry is None:
            continue
        rows.append(
            [
                fmt.label(sanction.name),
                sanction.kind,
                {
                    "person": "the person",
                    "children": "their children",
                    "household": "the household",
                }[sanction.reach],
                fmt.integer(entry["sanctioned"]),
                fmt.integer(entry["wrongful"]),
                fmt.percent(entry.get("wrongful_share")),
                fmt.integer(entry.get("person_days")),
                fmt.denied(entry),
            ]
        )
    anyone = entries.get("any")
    if anyone:
        rows.append(
            [
                "any sanction",
                "",
                "",
                fmt.integer(anyone["sanctioned"]),
                fmt.integer(anyone["wrongful"]),
                fmt.percent(anyone.get("wrongful_share")),
                "",
                "",
            ]
        )
    if not rows:
        return paragraph("This scenario imposes no sanction.")
    return table(
        "Each sanction and reward over the run (purchases denied: flight and train tickets; "
        "in brackets, scaled to 1.4 billion citizens)",
        [
            "sanction",
            "kind",
            "reaches",
            "citizens",
            "wrongfully",
            "wrongful share",
            "person-days",
            "purchases denied",
        ],
        rows,
        numeric={3, 4, 5, 6, 7},
    )


def _lists_table(overall: dict[str, Any]) -> str:
    lists = overall.get("lists", {})
    if not lists:
        return ""
    rows = []
    for name, entry in lists.items():
        entries = entry.get("entries", {})
        rows.append(
            [
                fmt.label(name),
                fmt.integer(entry["sanctioned"]),
                fmt.integer(entry["wrongful"]),
                fmt.integer(entries.get("ended_by_term_or_payment")),
                fmt.integer(entries.get("lifted_on_appeal")),
                fmt.integer(entries.get("still_listed_at_end")),
                fmt.integer(entry.get("listed_at_1_4_billion")),
            ]
        )
    return table(
        "Each list: citizens listed at some time in the run",
        [
            "list",
            "citizens listed",
            "wrongfully",
            "entries ended (term or payment)",
            "lifted on appeal",
            "still listed at the end",
            "listed, at 1.4 billion",
        ],
        rows,
        numeric={1, 2, 3, 4, 5, 6},
    )


def _wrongful(audit: dict[str, Any], figures) -> list[str]:
    overall = audit["overall"]
    anyone = overall.get("sanctions", {}).get("any", {})
    records = overall.get("records_by_cause", {})
    causes = anyone.get("wrongful_by_cause", {})
    rows = [
        [
            fmt.label(cause),
            CAUSE_WORDS.get(cause, ""),
            fmt.integer(records.get(cause, 0)),
            fmt.integer(causes.get(cause, 0)),
        ]
        for cause in dict.fromkeys([*records, *causes])
        if cause != "correct" and (records.get(cause, 0) or causes.get(cause, 0))
    ]
    body = [
        paragraph(
            "Here the truth is known for every record, so the audit can say what the real "
            "system cannot: a sanction is <strong>wrongful</strong> when the citizen's own, "
            "correctly attributed records would not have triggered it. "
            f"{fmt.integer(anyone.get('wrongful', 0))} of the "
            f"{fmt.integer(anyone.get('sanctioned', 0))} citizens under any sanction were "
            f"sanctioned wrongfully, and {fmt.integer(overall.get('wrongful_records', 0))} of "
            f"{fmt.integer(overall.get('records', 0))} records were made against someone who "
            "did not do it."
        ),
        figure(
            figures["wrongful"],
            "Citizens sanctioned wrongfully under each sanction, and "
            "the causes of the wrongful records behind them.",
        ),
    ]
    if rows:
        body.append(
            table(
                "Wrongful records and wrongful sanctions by cause (a wrongful sanction counts "
                "once under each cause of the records behind it)",
                ["cause", "what happened", "wrongful records", "wrongful sanctions"],
                rows,
                numeric={2, 3},
            )
        )
    else:
        body.append(paragraph("No record in this run was wrongful."))
    return body


def _disparity(audit: dict[str, Any], figures) -> list[str]:
    reference = audit.get("reference_group", "?")
    threshold = audit.get("four_fifths_threshold", 0.8)
    confidence = audit.get("confidence", 0.95)
    rows, flags = [], []
    for group, entry in audit.get("by_group", {}).items():
        anyone = entry.get("sanctions", {}).get("any", {})
        interval = anyone.get("disparate_impact_interval") or [None, None]
        flagged = bool(anyone.get("four_fifths_flag_significant"))
        flags.append(flagged)
        rows.append(
            [
                group + (" (reference)" if group == reference else ""),
                fmt.integer(entry.get("citizens")),
                fmt.integer(anyone.get("sanctioned")),
                fmt.percent(anyone.get("sanction_rate")),
                fmt.integer(entry.get("wrongful_records")),
                fmt.ratio(anyone.get("disparate_impact")),
                "—" if group == reference else fmt.ratio_interval(interval),
                "—" if group == reference else ("yes" if anyone.get("four_fifths_flag") else "no"),
                "—" if group == reference else ("yes" if flagged else "no"),
                "" if group == reference else anyone.get("in_words") or "",
            ]
        )
    flagged_all = audit.get("flagged_significant", [])
    body = [
        paragraph(
            "<strong>Disparate impact</strong>: the group's sanction rate divided by the "
            f"reference group's ({escape(reference)}), like every disparity in the audit: 1 is "
            "parity, 1.4 means the group is sanctioned 1.4 times as often. Outside the band "
            f"{threshold:g} to {1 / threshold:.3g} (the four-fifths rule and its inverse) it is "
            f"flagged. Each ratio carries a {fmt.percent(confidence)} confidence interval "
            "(Jeffreys posteriors of the two rates, which do not collapse when a group has few "
            "or no sanctions); only a flag whose whole interval lies outside the band is "
            "counted as significant, so that a small group's noise is not read as bias."
        ),
        figure(
            figures["disparity"],
            "Disparate impact by group for each outcome, with "
            "confidence intervals; filled dots: the whole interval is outside the band.",
        ),
        table(
            "Any sanction, by group (highlighted: flagged, whole interval outside the band)",
            [
                "group",
                "citizens",
                "sanctioned",
                "sanction rate",
                "wrongful records",
                "disparate impact",
                f"{fmt.percent(confidence)} interval",
                "flagged",
                "flagged, whole interval",
                "in words",
            ],
            rows,
            numeric={1, 2, 3, 4, 5, 6},
            flags=flags,
        ),
    ]
    if flagged_all:
        body.append(
            paragraph(
                "Flagged with the whole interval outside the band: "
                + "; ".join(escape(_flag_words(f)) for f in flagged_all)
                + "."
            )
        )
    else:
        body.append(paragraph("No outcome is flagged with its whole interval outside the band."))
    return body


def _regions(audit: dict[str, Any], figures) -> list[str]:
    rows = []
    for region, entry in audit.get("by_region", {}).items():
        anyone = entry.get("sanctions", {}).get("any", {})
        interval = anyone.get("intervals", {}).get("sanction_rate") or [None, None]
        citizens = entry.get("citizens", 0)
        rows.append(
            [
                region,
                fmt.integer(citizens),
                fmt.integer(anyone.get("sanctioned")),
                fmt.percent(anyone.get("sanction_rate")),
                _percent_interval(interval),
                fmt.per_thousand_text(entry.get("wrongful_records", 0), citizens),
                fmt.integer(entry.get("children_reached")),
            ]
        )
    return [
        paragraph(
            "Regions differ in how many cameras they have and how much of their data is pooled "
            "nationally, so the same behaviour is seen, recorded and punished differently."
        ),
        figure(
            figures["regions"],
            "Citizens under any sanction and wrongful records, per 1,000 citizens, by region.",
        ),
        table(
            "By region",
            [
                "region",
                "citizens",
                "sanctioned",
                "sanction rate",
                "interval",
                "wrongful records per 1,000",
                "children reached",
            ],
            rows,
            numeric={1, 2, 3, 4, 5, 6},
        ),
    ]


def _children(audit: dict[str, Any], figures) -> list[str]:
    overall = audit["overall"]
    rows = [
        [
            group,
            fmt.integer(entry.get("citizens")),
            fmt.integer(entry.get("children_reached")),
            fmt.per_thousand_text(entry.get("children_reached", 0), entry.get("citizens", 0)),
        ]
        for group, entry in audit.get("by_group", {}).items()
    ]
    return [
        paragraph(
            f"{fmt.integer(overall.get('children_reached'))} children were reached by a "
            "sanction that reaches the family (a private-school or university ban, or a "
            "sanction on the whole household), in "
            f"{fmt.integer(overall.get('households_reached'))} households; "
            f"{fmt.integer(overall.get('children_living_with_a_sanctioned_citizen'))} children "
            "lived with a citizen under some sanction."
        ),
        figure(figures["children"], "Children reached per 1,000 citizens, by group and by region."),
        table(
            "Children reached, by group",
            ["group", "citizens", "children reached", "per 1,000 citizens"],
            rows,
            numeric={1, 2, 3},
            compact=True,
        ),
    ]


def _mobility(overall: dict[str, Any], figures) -> list[str]:
    rows = []
    for name, entry in overall.get("policies", {}).items():
        mobility = entry.get("mobility") or {}
        punished = entry.get("punished", {})
        mean = mobility.get("mean_days_to_recover")
        rows.append(
            [
                name if entry.get("type") == name else f"{name} ({entry.get('type')})",
                mobility.get("bottom_grade", "—"),
                f"{fmt.integer(punished.get('sanctioned'))} "
                f"({fmt.integer(punished.get('wrongful'))})",
                fmt.integer(mobility.get("fell_to_bottom_grade")),
                fmt.integer(mobility.get("climbed_back")),
                fmt.percent(mobility.get("never_recovered_share")),
                fmt.rate(mean, digits=0),
            ]
        )
    if not rows:
        return [paragraph("No score policy in this run.")]
    return [
        paragraph(
            "A citizen who falls to a policy's bottom grade loses the most; the question is "
            "whether anyone climbs back out, and how long it takes. Counted from each citizen's "
            "first fall within the run; someone still at the bottom when the run ends has not "
            "climbed back."
        ),
        figure(
            figures["mobility"],
            "Citizens who fell to each policy's bottom grade and who "
            "climbed back, and the days it took.",
        ),
        table(
            "Mobility by score policy",
            [
                "policy",
                "bottom grade",
                "punished (wrongfully)",
                "fell to the bottom",
                "climbed back",
                "never climbed back",
                "mean days to climb back",
            ],
            rows,
            numeric={2, 3, 4, 5, 6},
        ),
    ]


def _behaviour(overall: dict[str, Any], figures) -> list[str]:
    change = overall.get("behaviour_change", {})
    rows = []
    offending = change.get("offending")
    if offending:
        rows.append(_change_row("all offences", offending))
    for name, entry in change.get("by_category", {}).items():
        rows.append(
            _change_row(name + (" (the chilling effect)" if name == "speech" else ""), entry)
        )
    if not rows:
        return [paragraph("No change in behaviour is measured in this run.")]
    return [
        paragraph(
            "Every citizen is simulated twice over the same chances: with the system and "
            "without it. The difference is the system's effect on what people do: offences "
            "deterred, speech chilled (fewer critical posts and rumours), and good deeds done "
            "for the points."
        ),
        figure(
            figures["behaviour"],
            "Change in events with the system against without it, by category and by behaviour.",
        ),
        table(
            "Events with and without the system, same citizens",
            ["category", "without the system", "with the system", "change", "change (%)"],
            rows,
            numeric={1, 2, 3, 4},
        ),
    ]


def _change_row(name: str, entry: dict[str, Any]) -> list[str]:
    return [
        name,
        fmt.integer(entry.get("without_system")),
        fmt.integer(entry.get("with_system")),
        fmt.signed_number(entry.get("change")),
        fmt.percent(entry.get("change_share"), signed=True),
    ]


def _side_by_side(overall: dict[str, Any], figures) -> list[str]:
    pairs = overall.get("side_by_side", [])
    if not pairs:
        return [paragraph("This scenario has a single score policy: nothing to set beside it.")]
    policies = overall.get("policies", {})
    tables = []
    for pair in pairs:
        a, b = pair["policies"]
        low = {name: policies.get(name, {}).get("low_grade", "?") for name in (a, b)}
        rows = [
            [
                f"punished (at or below the low grade: {low[a]} / {low[b]})",
                fmt.integer(pair[f"punished_by_{a}"]),
                fmt.integer(pair[f"punished_by_{b}"]),
            ],
            ["punished by this one only", fmt.integer(pair[f"only_{a}"]),
             fmt.integer(pair[f"only_{b}"])],
            ["punished by both", fmt.integer(pair["punished_by_both"]),
             fmt.integer(pair["punished_by_both"])],
            ["wrongful share of those punished",
             fmt.percent(pair.get(f"wrongful_share_{a}")),
             fmt.percent(pair.get(f"wrongful_share_{b}"))],
        ]  # fmt: skip
        for group, rates in pair.get("by_group", {}).items():
            rows.append(  # a group with nobody in it has no rate: a dash
                [
                    f"punished per 1,000 in {group}",
                    fmt.rate(rates.get(f"punished_rate_{a}"), 1000.0, 2),
                    fmt.rate(rates.get(f"punished_rate_{b}"), 1000.0, 2),
                ]
            )
        tables.append(
            table(
                f"{a} beside {b}: the same citizens, punished by each "
                f"(overlap, Jaccard: {fmt.ratio(pair.get('jaccard'))})",
                ["measure", a, b],
                rows,
                numeric={1, 2},
                compact=True,
            )
        )
    return [
        paragraph(
            "The same citizens and the same records, read by two scores: the social credit "
            "score and a FICO-like credit score that reads only court and tax records. Who "
            "does each punish (at or below its low grade), and do they punish the same people?"
        ),
        figure(
            figures["side_by_side"],
            "Who each score punishes, who both do, and the rate punished by group.",
        ),
        *tables,
    ]


def gap_rows(audit: dict[str, Any], result: RunResult, targets: Any) -> tuple[list, str, str]:
    """The gap to the published figures: (rows, where the figures come from, a note). Raises
    TargetError for targets that were asked for and cannot be used."""
    years = float(result.manifest.get("years") or result.scenario.run.years)
    name = result.scenario.name
    if targets is False:
        return [], "", "Left out: the report was made without published figures."
    if targets is None:
        if name not in shipped_targets():
            return (
                [],
                "",
                (
                    f"No published figures ship for the scenario “{escape(name)}”, so there is no "
                    "gap to show. Give a targets file with <code>--targets FILE</code> (shipped: "
                    + escape(", ".join(shipped_targets()) or "none")
                    + ")."
                ),
            )
        chosen, source = load_targets(name), f"the published figures shipped for {name}"
        try:
            rows = gap_table(audit, chosen, years)
        except TargetError as error:
            return [], "", escape(f"The published figures for {name} do not fit this run: {error}")
    else:
        chosen, source = load_targets(targets), f"the targets in {targets}"
        rows = gap_table(audit, chosen, years)
    mismatch = ""
    if chosen.scenario and chosen.scenario != name:
        mismatch = (
            f"These figures were made for “{escape(chosen.scenario)}”, not for “{escape(name)}”."
        )
    return rows, source, mismatch


def _published(audit: dict[str, Any], gap: tuple[list, str, str]) -> list[str]:
    rows_data, source, remark = gap
    if not rows_data:
        return [note(remark)]
    rows = [
        [
            Raw(f"{escape(row['unit'] or row['id'])}<br><small>{escape(row['id'])}</small>"),
            fmt.integer(row["published"]),
            fmt.integer(row["model"]),
            fmt.signed_number(_rounded(row["gap"])),
            "—" if fmt.finite(row["ratio"]) is None else f"{row['ratio']:.2f}×",
            row["reading"],
        ]
        for row in rows_data
    ]
    body = [
        paragraph(
            "How the run compares with what has been published, "
            f"using {escape(source)}. The run's numbers are scaled from its "
            f"{fmt.integer(audit['overall']['citizens'])} citizens to the 1.4 billion the "
            "figures count, and a yearly figure is divided by the run's years. A short run "
            "starts from nobody sanctioned or listed, while the published figures include "
            "bans and listings carried over from earlier years."
        ),
        table(
            "Published figures against the model (ratio: model ÷ published)",
            ["figure", "published", "model", "gap (model − published)", "ratio", "reading"],
            rows,
            numeric={1, 2, 3, 4},
        ),
    ]
    if remark:
        body.append(note(remark))
    return body


def _rounded(value: Any) -> int | None:
    number = fmt.finite(value)
    return None if number is None else round(number)


def _percent_interval(interval: Any) -> str:
    """A rate's interval as percentages; none (nobody in the group or region): em dash."""
    if not isinstance(interval, list | tuple) or len(interval) != 2:
        return "—"
    low, high = (fmt.finite(v) for v in interval)
    if low is None and high is None:
        return "—"
    return f"{fmt.percent(low)} to {fmt.percent(high)}"


def _limits(scenario: Scenario) -> list[str]:
    return [
        "<ul>"
        "<li><strong>Every citizen here is synthetic.</strong> No real person's data went in; "
        "nothing here is about a real person.</li>"
        "<li><strong>It is a model.</strong> Its numbers follow from the assumptions of the "
        f"scenario “{escape(scenario.name)}”: the rates of behaviour, the error rates of "
        "cameras, platforms and informants, the rules of each score. In the shipped presets "
        "each number names its published source or says “assumption”; "
        f"<code>creditsim scenarios show {escape(scenario.name)}</code> prints them all.</li>"
        "<li><strong>The truth is known here, and only here.</strong> Wrongful sanctions and "
        "the confusion matrix compare the system with what really happened, which the real "
        "system never sees.</li>"
        "<li><strong>Small groups are noisy.</strong> Read the confidence intervals: a ratio "
        "whose interval crosses 0.8 may be chance.</li>"
        "<li><strong>One run is one draw.</strong> Another seed gives somewhat different "
        "numbers; <code>creditsim compare</code> runs several seeds and gives intervals.</li>"
        "<li><strong>Scaled numbers</strong> (“at 1.4 billion”) multiply the run's counts by "
        "1.4 billion over its citizens; they inherit the run's noise.</li>"
        "</ul>"
    ]


# --------------------------------------------------------------------------------------- compare

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
    a = data.get("a", {})
    b = data.get("b", {})
    seeds = data.get("seeds", [])
    confidence = data.get("confidence", 0.95)
    metrics = data.get("metrics", [])
    ordered = sorted(
        metrics,
        key=lambda m: HEADLINE_ORDER.index(m["metric"]) if m["metric"] in HEADLINE_ORDER else 99,
    )
    zero = [m for m in ordered if not m.get("a_mean") and not m.get("b_mean")]
    ordered = [m for m in ordered if m not in zero]
    rows, flags = [], []
    for metric in ordered:
        share = metric["metric"].endswith("_share") or metric["metric"].endswith("_rate")
        show = (lambda v: fmt.percent(v, signed=True)) if share else fmt.signed_number
        plain = (lambda v: fmt.percent(v)) if share else fmt.number
        low, high = metric.get("ci_low"), metric.get("ci_high")
        significant = metric.get("significant")
        flags.append(bool(significant))
        rows.append(
            [
                metric["metric"],
                plain(metric.get("a_mean")),
                plain(metric.get("b_mean")),
                show(metric.get("difference")),
                "—" if low is None or high is None else f"{show(low)} to {show(high)}",
                "—" if significant is None else ("yes" if significant else "no"),
            ]
        )
    build = _Builder()
    facts = [
        ("A", f"{a.get('scenario')} (hash {a.get('scenario_hash')})"),
        ("B", f"{b.get('scenario')} (hash {b.get('scenario_hash')})"),
        ("Citizens", f"{fmt.integer(data.get('population'))} (synthetic), the same in A and B"),
        ("Simulated time", _years(data.get("years"))),
        ("Seeds", ", ".join(str(s) for s in seeds)),
        ("Difference", str(data.get("difference", "B − A"))),
    ]
    if comparison.path is not None:
        facts.append(("Directory", str(comparison.path)))
    listing = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    build.section(
        "compared",
        "What was compared",
        f'<dl class="facts">{listing}</dl>',
        paragraph(
            "A and B were run on the same synthetic citizens with the same chances (common "
            "random numbers), once per seed; the difference B − A within a seed is the effect "
            "of what differs between the scenarios, not the noise of two draws. A is the "
            "baseline (no system, or the policy in force): with <code>no-system</code> as A, "
            "B − A is the effect of the system itself."
        ),
        note(escape(data["note"])) if data.get("note") else "",
    )
    build.section(
        "differences",
        "Paired differences",
        table(
            f"Every audit metric: mean of A, mean of B, mean difference B − A and its "
            f"{fmt.percent(confidence)} confidence interval over {len(seeds)} seeds "
            "(highlighted: the interval excludes zero)",
            ["metric", "A", "B", "B − A", f"{fmt.percent(confidence)} interval", "significant"],
            rows,
            numeric={1, 2, 3, 4},
            flags=flags,
        ),
        paragraph(
            f"Left out: {_plural(len(zero), 'metric')} zero in both A and B ("
            + escape(", ".join(m["metric"] for m in zero))
            + ")."
        )
        if zero
        else "",
    )
    build.section("limits", "How to read this, and its limits", *_compare_limits())
    title = (
        f"creditsim comparison: {b.get('scenario')} (B) against {a.get('scenario')} "
        "(A, the baseline)"
    )
    subtitle = escape(
        f"{fmt.integer(data.get('population'))} synthetic citizens, {_years(data.get('years'))}, "
        f"{len(seeds)} seeds"
    )
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    footer = escape(f"Made by creditsim {__version__} on {made}. Every citizen is synthetic.")
    return document(title, subtitle, build, footer)


def _compare_limits() -> list[str]:
    return [
        "<ul>"
        "<li><strong>Every citizen here is synthetic.</strong></li>"
        "<li>Each metric is named by its path in the audit (<code>audit.json</code>): "
        "<code>sanctions.any.sanctioned</code> is the citizens under any sanction.</li>"
        "<li>With fewer than two seeds there is no interval; with few seeds the interval is "
        "wide. A difference whose interval includes zero may be chance.</li>"
        "<li>The numbers follow from the assumptions of the two scenarios.</li>"
        "</ul>"
    ]


__all__ = ["TargetError", "mechanisms", "render_compare", "render_run"]
