"""The run report's tables, built from the audit as plain data for the `table` macro."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from creditsim.figures import numbers as fmt
from creditsim.report.prose import CAUSE_WORDS, REACH_WORDS
from creditsim.report.render import raw, table

if TYPE_CHECKING:
    from creditsim.scenario import Scenario


def headline_table(overall: dict[str, Any]) -> dict[str, Any]:
    anyone = overall.get("sanctions", {}).get("any", {})
    change = overall.get("behaviour_change", {})
    offending = change.get("offending", {}).get("change_share")
    speech = change.get("by_category", {}).get("speech", {}).get("change_share")
    return table(
        "The headline numbers",
        ["measure", "value"],
        [
            ["synthetic citizens", fmt.integer(overall["citizens"])],
            ["true events (acts committed)", fmt.integer(overall.get("true_events"))],
            ["true offences", fmt.integer(overall.get("true_offences"))],
            ["records", fmt.integer(overall.get("records"))],
            ["wrongful records", fmt.integer(overall.get("wrongful_records"))],
            ["citizens under any sanction", fmt.integer(anyone.get("sanctioned", 0))],
            ["sanctioned wrongfully", fmt.integer(anyone.get("wrongful", 0))],
            ["children reached", fmt.integer(overall.get("children_reached"))],
            ["households reached", fmt.integer(overall.get("households_reached"))],
            ["change in offending", fmt.percent(offending, signed=True)],
            ["change in speech", fmt.percent(speech, signed=True)],
        ],
        numeric={1},
        compact=True,
    )


def sanctions_table(overall: dict[str, Any], scenario: Scenario) -> dict[str, Any] | None:
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
                REACH_WORDS[sanction.reach],
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
        return None
    return table(
        "Each sanction and reward over the run: everyone ever under it, not only at the end "
        "(purchases denied: flight and train tickets; "
        "in brackets, scaled to 1.4 billion citizens)",
        [
            "sanction",
            "kind",
            "reaches",
            "citizens ever under it",
            "wrongfully",
            "wrongful share",
            "person-days",
            "purchases denied",
        ],
        rows,
        numeric={3, 4, 5, 6, 7},
    )


def lists_table(overall: dict[str, Any]) -> dict[str, Any] | None:
    lists = overall.get("lists", {})
    if not lists:
        return None
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


def wrongful_table(overall: dict[str, Any]) -> dict[str, Any] | None:
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
    if not rows:
        return None
    return table(
        "Wrongful records and wrongful sanctions by cause (a wrongful sanction counts once "
        "under each cause of the records behind it)",
        ["cause", "what happened", "wrongful records", "wrongful sanctions"],
        rows,
        numeric={2, 3},
    )


def disparity_table(audit: dict[str, Any]) -> dict[str, Any]:
    reference = audit.get("reference_group", "?")
    rows, flags = [], []
    for group, entry in audit.get("by_group", {}).items():
        anyone = entry.get("sanctions", {}).get("any", {})
        interval = anyone.get("disparate_impact_interval") or [None, None]
        flagged = bool(anyone.get("four_fifths_flag_significant"))
        flags.append(flagged)
        ref = group == reference
        rows.append(
            [
                group + (" (reference)" if ref else ""),
                fmt.integer(entry.get("citizens")),
                fmt.integer(anyone.get("sanctioned")),
                fmt.percent(anyone.get("sanction_rate")),
                fmt.integer(entry.get("wrongful_records")),
                fmt.ratio(anyone.get("disparate_impact")),
                "—" if ref else fmt.ratio_interval(interval),
                "—" if ref else ("yes" if anyone.get("four_fifths_flag") else "no"),
                "—" if ref else ("yes" if flagged else "no"),
                "" if ref else anyone.get("in_words") or "",
            ]
        )
    confidence = fmt.percent(audit.get("confidence", 0.95))
    return table(
        "Any sanction, by group (highlighted: flagged, whole interval outside the band)",
        [
            "group",
            "citizens",
            "sanctioned",
            "sanction rate",
            "wrongful records",
            "disparate impact",
            f"{confidence} interval",
            "flagged",
            "flagged, whole interval",
            "in words",
        ],
        rows,
        numeric={1, 2, 3, 4, 5, 6},
        flags=flags,
    )


def regions_table(audit: dict[str, Any]) -> dict[str, Any]:
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
                percent_interval(interval),
                fmt.per_thousand_text(entry.get("wrongful_records", 0), citizens),
                fmt.integer(entry.get("children_reached")),
            ]
        )
    return table(
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
    )


def percent_interval(interval: Any) -> str:
    """A rate's interval as percentages; none (nobody in the group or region): em dash."""
    if not isinstance(interval, list | tuple) or len(interval) != 2:
        return "—"
    low, high = (fmt.finite(v) for v in interval)
    if low is None and high is None:
        return "—"
    return f"{fmt.percent(low)} to {fmt.percent(high)}"


def children_table(audit: dict[str, Any], post: Any) -> dict[str, Any]:
    """Children reached by group, per 1,000 citizens with its 95% interval (`post`: a
    findings.Posteriors)."""
    rows = []
    for group, entry in audit.get("by_group", {}).items():
        reached, citizens = entry.get("children_reached", 0), entry.get("citizens", 0)
        interval = "—"
        if citizens:
            low, high = post.interval(post.per(reached, citizens))
            interval = f"{fmt.rate(low, 1000.0)} to {fmt.rate(high, 1000.0)}"
        rows.append(
            [
                group,
                fmt.integer(citizens),
                fmt.integer(reached),
                fmt.per_thousand_text(reached, citizens),
                interval,
            ]
        )
    return table(
        "Children reached, by group",
        ["group", "citizens", "children reached", "per 1,000 citizens", "95% interval"],
        rows,
        numeric={1, 2, 3, 4},
        compact=True,
    )


def mobility_table(overall: dict[str, Any]) -> dict[str, Any] | None:
    rows = []
    for name, entry in overall.get("policies", {}).items():
        mobility = entry.get("mobility") or {}
        punished = entry.get("punished", {})
        rows.append(
            [
                name if entry.get("type") == name else f"{name} ({entry.get('type')})",
                mobility.get("bottom_grade", "—"),
                f"{fmt.integer(punished.get('sanctioned'))} "
                f"({fmt.integer(punished.get('wrongful'))})",
                fmt.integer(mobility.get("fell_to_bottom_grade")),
                fmt.integer(mobility.get("climbed_back")),
                fmt.percent(mobility.get("never_recovered_share")),
                fmt.rate(mobility.get("mean_days_to_recover"), digits=0),
            ]
        )
    if not rows:
        return None
    return table(
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
    )


def behaviour_table(overall: dict[str, Any]) -> dict[str, Any] | None:
    change = overall.get("behaviour_change", {})
    rows = []
    if change.get("offending"):
        rows.append(_change_row("all offences", change["offending"]))
    for name, entry in change.get("by_category", {}).items():
        label = name + (" (the chilling effect)" if name == "speech" else "")
        rows.append(_change_row(label, entry))
    if not rows:
        return None
    return table(
        "Events with and without the system, same citizens",
        ["category", "without the system", "with the system", "change", "change (%)"],
        rows,
        numeric={1, 2, 3, 4},
    )


def _change_row(name: str, entry: dict[str, Any]) -> list[str]:
    return [
        name,
        fmt.integer(entry.get("without_system")),
        fmt.integer(entry.get("with_system")),
        fmt.signed_number(entry.get("change")),
        fmt.percent(entry.get("change_share"), signed=True),
    ]


def side_by_side_tables(overall: dict[str, Any]) -> list[dict[str, Any]]:
    policies = overall.get("policies", {})
    return [_pair_table(pair, policies) for pair in overall.get("side_by_side", [])]


def _pair_table(pair: dict[str, Any], policies: dict[str, Any]) -> dict[str, Any]:
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
    return table(
        f"{a} beside {b}: the same citizens, punished by each "
        f"(overlap, Jaccard: {fmt.ratio(pair.get('jaccard'))})",
        ["measure", a, b],
        rows,
        numeric={1, 2},
        compact=True,
    )


def published_table(gap: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [
        [
            raw(f"{escape(row['unit'] or row['id'])}<br><small>{escape(row['id'])}</small>"),
            fmt.integer(row["published"]),
            fmt.integer(row["model"]),
            fmt.signed_number(_rounded(row["gap"])),
            "—" if fmt.finite(row["ratio"]) is None else f"{row['ratio']:.2f}×",
            row["reading"],
        ]
        for row in gap
    ]
    return table(
        "Published figures against the model (ratio: model ÷ published)",
        ["figure", "published", "model", "gap (model − published)", "ratio", "reading"],
        rows,
        numeric={1, 2, 3, 4},
    )


def _rounded(value: Any) -> int | None:
    number = fmt.finite(value)
    return None if number is None else round(number)
