"""The run report's headline numbers: cards and a table, each number with its 95% interval and
what it counts said in words (ever under a sanction in the run, not under one at its end).

The intervals are Jeffreys posteriors (findings.Posteriors): a share of citizens Beta, a count
per citizen Gamma; "at 1.4 billion" scales the count and its interval by 1.4 billion over the
run's citizens.
"""

from __future__ import annotations

from typing import Any

from creditsim.figures import numbers as fmt
from creditsim.report.findings import Posteriors
from creditsim.report.prose import flag_words
from creditsim.report.render import table
from creditsim.scenario.schema import POPULATION


def card(value: str, what: str, more: str = "", alert: bool = False) -> dict[str, Any]:
    return {"value": value, "what": what, "more": more, "alert": alert}


def share_interval(post: Posteriors, x: float, n: float) -> str:
    if n <= 0:
        return "—"
    low, high = post.share_interval(x, n)
    return f"{fmt.percent(low)} to {fmt.percent(high)}"


def count_interval(post: Posteriors, x: float, n: float) -> str:
    """A count's interval as counts of the run: the count per citizen's interval times n."""
    if n <= 0:
        return "—"
    low, high = post.interval(post.per(x, n))
    return f"{fmt.integer(low * n)} to {fmt.integer(high * n)}"


def _scaled(post: Posteriors, x: float, n: float) -> str:
    """About how many at 1.4 billion, with the interval."""
    if n <= 0:
        return "—"
    low, high = post.interval(post.share(x, n) * POPULATION)
    return (
        f"about {fmt.approximate(x / n * POPULATION)} at the scale of 1.4 billion "
        f"(95% interval {fmt.approximate(low)} to {fmt.approximate(high)})"
    )


def headline_cards(audit: dict[str, Any], post: Posteriors) -> list[dict[str, Any]]:
    """The cards at the top of the report, each number with its interval."""
    overall = audit["overall"]
    citizens = overall["citizens"]
    anyone = overall.get("sanctions", {}).get("any", {})
    sanctioned, wrongful = anyone.get("sanctioned", 0), anyone.get("wrongful", 0)
    records, wrong = overall.get("records", 0), overall.get("wrongful_records", 0)
    children = overall.get("children_reached", 0)
    return [
        card(
            fmt.integer(citizens),
            "synthetic citizens simulated",
            f"in {fmt.integer(overall.get('households'))} households (set, so no interval)",
        ),
        card(
            fmt.integer(records),
            "records made about citizens",
            f"95% interval {count_interval(post, records, citizens)}; from "
            f"{fmt.integer(overall.get('true_events'))} true events",
        ),
        card(
            fmt.integer(wrong),
            "wrongful records",
            f"{fmt.percent(wrong / max(records, 1))} of all records (95% interval "
            f"{share_interval(post, wrong, records)}): against someone who did not do it",
            alert=True,
        ),
        card(
            fmt.integer(sanctioned),
            "citizens ever under a sanction during the run",
            f"{fmt.percent(sanctioned / max(citizens, 1))} of citizens (95% interval "
            f"{share_interval(post, sanctioned, citizens)}); {_scaled(post, sanctioned, citizens)}",
        ),
        card(
            fmt.integer(wrongful),
            "of them sanctioned wrongfully",
            f"{fmt.percent(wrongful / sanctioned) if sanctioned else '0%'} of the sanctioned "
            f"(95% interval {share_interval(post, wrongful, sanctioned)})",
            alert=True,
        ),
        card(
            fmt.integer(children),
            "children reached by a sanction",
            f"95% interval {count_interval(post, children, citizens)}; living with a "
            "sanctioned parent whose sanction reaches the family",
        ),
        *_change_cards(overall, post),
        _flag_card(audit),
    ]


def _change(post: Posteriors, entry: dict[str, Any]) -> str:
    """A change with against without the system, as a share, with a conservative interval (both
    counts taken as independent Poisson counts, though they are paired)."""
    with_system, without = entry.get("with_system"), entry.get("without_system")
    if not without or with_system is None:
        return ""
    low, high = post.interval(post.per(with_system, 1.0) / post.per(without, 1.0, side=1) - 1.0)
    return (
        f"95% interval {fmt.percent(low, signed=True)} to {fmt.percent(high, signed=True)} "
        "(conservative: the two counts are paired)"
    )


def _change_cards(overall: dict[str, Any], post: Posteriors) -> list[dict[str, Any]]:
    change = overall.get("behaviour_change", {})
    offending = change.get("offending", {})
    speech = change.get("by_category", {}).get("speech", {})
    cards = []
    if offending.get("change_share") is not None:
        cards.append(
            card(
                fmt.percent(offending["change_share"], signed=True),
                "change in offending",
                f"{_change(post, offending)}; the same citizens with the system, against "
                "without it",
            )
        )
    if speech.get("change_share") is not None:
        cards.append(
            card(
                fmt.percent(speech["change_share"], signed=True),
                "change in speech: the chilling effect",
                f"{_change(post, speech)}; critical posts and rumours",
                alert=speech["change_share"] < 0,
            )
        )
    return cards


def _flag_card(audit: dict[str, Any]) -> dict[str, Any]:
    """Flags counted on whole intervals, and beside them how many the point estimates flag (the
    command line's summary names both), so the two never seem to disagree."""
    flagged = audit.get("flagged_significant", [])
    points = audit.get("flagged", [])
    if flagged:
        more = "; ".join(flag_words(f) for f in flagged[:4]) + (" …" if len(flagged) > 4 else "")
    else:
        more = "no group's whole confidence interval lies outside the band"
    more += (
        f". Counted on point estimates alone, {fmt.integer(len(points))} would be flagged; "
        "most of those intervals reach into the band."
    )
    return card(
        fmt.integer(len(flagged)),
        "outcomes flagged outside the band 0.8 to 1.25, with the whole 95% interval",
        more,
        alert=bool(flagged),
    )


def headline_table(audit: dict[str, Any], post: Posteriors) -> dict[str, Any]:
    overall = audit["overall"]
    citizens = overall["citizens"]
    anyone = overall.get("sanctions", {}).get("any", {})
    change = overall.get("behaviour_change", {})

    def row(measure: str, value: Any, interval: str) -> list[str]:
        return [measure, fmt.integer(value), interval]

    rows = [
        row("synthetic citizens", citizens, "set (exact)"),
        row("true events (acts committed)", overall.get("true_events"),
            count_interval(post, overall.get("true_events", 0), citizens)),
        row("true offences", overall.get("true_offences"),
            count_interval(post, overall.get("true_offences", 0), citizens)),
        row("records", overall.get("records"),
            count_interval(post, overall.get("records", 0), citizens)),
        row("wrongful records", overall.get("wrongful_records"),
            count_interval(post, overall.get("wrongful_records", 0), citizens)),
        row("citizens under any sanction", anyone.get("sanctioned", 0),
            count_interval(post, anyone.get("sanctioned", 0), citizens)),
        row("sanctioned wrongfully", anyone.get("wrongful", 0),
            count_interval(post, anyone.get("wrongful", 0), citizens)),
        row("children reached", overall.get("children_reached"),
            count_interval(post, overall.get("children_reached", 0), citizens)),
        row("households reached", overall.get("households_reached"),
            count_interval(post, overall.get("households_reached", 0), citizens)),
    ]  # fmt: skip
    for label, entry in (
        ("change in offending", change.get("offending", {})),
        ("change in speech", change.get("by_category", {}).get("speech", {})),
    ):
        rows.append(
            [label, fmt.percent(entry.get("change_share"), signed=True),
             _change(post, entry).removeprefix("95% interval ") or "—"]
        )  # fmt: skip
    return table(
        "The headline numbers: counts over the whole run (a citizen ever under a sanction "
        "counts once), each with its 95% interval",
        ["measure", "value", "95% interval"],
        rows,
        numeric={1, 2},
        compact=True,
    )


__all__ = ["card", "headline_cards", "headline_table"]
