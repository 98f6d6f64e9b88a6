"""What a run found, said first and in plain words: a short list of findings, each with its
interval and its convention, for the reports and the dashboard.

    run_findings(audit)          # one run: wrongful sanctions, disparity and why, children,
                                 # who climbs back
    compare_findings(data)       # a comparison (compare.json): B − A, A the baseline

Every interval here is a 95% interval (the audit's confidence) from Jeffreys posteriors: a share
x of n has the posterior Beta(x + ½, n − x + ½), a count per citizen Gamma(x + ½) / n; a
difference or a ratio of two is taken over draws of both. The draws come from one fixed stream
per run, so the same run always says the same thing. Numpy only: no scipy to load.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from creditsim.figures import numbers as fmt
from creditsim.figures.uncertainty import Posteriors
from creditsim.scenario.schema import POPULATION


@dataclass(frozen=True)
class Finding:
    """One finding: a short title and a paragraph that says the number, its interval and what
    the number means."""

    title: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


# ------------------------------------------------------------------------------------ words


def share_words(x: float, n: float, post: Posteriors) -> str:
    """ "3.4% (95% interval 2.1% to 5.0%)"."""
    if n <= 0:
        return "— (nobody to count)"
    low, high = post.share_interval(x, n)
    return f"{fmt.percent(x / n)} (95% interval {fmt.percent(low)} to {fmt.percent(high)})"


def count_words(x: float, n: float, post: Posteriors, unit: str = "per 1,000 citizens") -> str:
    """ "12.5 per 1,000 citizens (95% interval 10.1 to 15.2)"."""
    if n <= 0:
        return "—"
    low, high = post.interval(post.per(x, n))
    return (
        f"{fmt.rate(x / n, 1000.0)} {unit} (95% interval {fmt.rate(low, 1000.0)} to "
        f"{fmt.rate(high, 1000.0)})"
    )


def times_words(ratio: float) -> str:
    """A ratio said as "1.4 times as often"."""
    return f"{fmt.ratio(ratio)} times as often"


def _cause_words(causes: dict[str, int]) -> str:
    named = sorted(
        ((c, n) for c, n in causes.items() if n > 0), key=lambda item: (-item[1], item[0])
    )
    if not named:
        return ""
    parts = [f"{fmt.label(cause)} ({fmt.integer(count)})" for cause, count in named[:3]]
    return " Their wrongful records came mostly from " + ", ".join(parts) + "."


# ----------------------------------------------------------------------------------- a run


def run_findings(audit: dict[str, Any], seed: int = 0) -> list[Finding]:
    """A run's findings, most important first: the wrongfully sanctioned (any sanction and each
    ban), each group's disparity and why, the children reached, who climbs back."""
    post = Posteriors(seed, audit.get("confidence", 0.95))
    overall = audit["overall"]
    out = [_wrongful(overall, post)]
    out.extend(_disparities(audit, post))
    out.append(_children(overall, post))
    out.extend(_mobility(overall, post))
    return [finding for finding in out if finding is not None]


def _wrongful(overall: dict[str, Any], post: Posteriors) -> Finding:
    sanctions = overall.get("sanctions", {})
    anyone = sanctions.get("any", {})
    sanctioned, wrongful = anyone.get("sanctioned", 0), anyone.get("wrongful", 0)
    if not sanctioned:
        return Finding(
            "Nobody was sanctioned",
            f"No synthetic citizen (of {fmt.integer(overall.get('citizens'))}) was under a "
            "sanction in this run, so nobody was sanctioned wrongfully.",
        )
    bans = sorted(
        (
            (name, entry)
            for name, entry in sanctions.items()
            if name != "any" and entry.get("sanctioned", 0) > 0 and "wrongful" in entry
        ),
        key=lambda item: (-item[1]["wrongful"], item[0]),
    )
    hit = [(name, entry) for name, entry in bans if entry["wrongful"] > 0]
    each = "; ".join(
        f"{fmt.label(name)}: {fmt.integer(entry['wrongful'])} of "
        f"{fmt.integer(entry['sanctioned'])} ({_interval(entry, post)})"
        for name, entry in hit[:SHOWN]
    )
    rest = len(hit) - SHOWN
    more = f"; {rest} more {'ban' if rest == 1 else 'bans'} in the tables below" if rest > 0 else ""
    text = (
        f"{fmt.integer(wrongful)} of the {fmt.integer(sanctioned)} citizens under a sanction did "
        f"nothing to earn it: {share_words(wrongful, sanctioned, post)} of the sanctioned. Their "
        "own, correctly attributed records would not have triggered it; records made about "
        "someone else, or made up, did."
        + _cause_words(anyone.get("wrongful_by_cause", {}))
        + (f" Wrongfully under each ban (95% interval of the share): {each}{more}." if each else "")
    )
    return Finding("Sanctioned for nothing they did", text)


SHOWN = 4  # bans named in the wrongful finding


def _interval(entry: dict[str, Any], post: Posteriors) -> str:
    low, high = post.share_interval(entry["wrongful"], entry["sanctioned"])
    return f"{fmt.percent(low)} to {fmt.percent(high)}"


def _disparities(audit: dict[str, Any], post: Posteriors) -> list[Finding]:
    """One finding per group against the reference group, the flagged ones first."""
    reference = audit.get("reference_group")
    groups = audit.get("by_group", {})
    ref = groups.get(reference)
    if ref is None:
        return []
    found = []
    for name, entry in groups.items():
        any_entry = entry.get("sanctions", {}).get("any", {})
        ratio = any_entry.get("disparate_impact")
        if name == reference or ratio is None:
            continue
        found.append((not any_entry.get("four_fifths_flag_significant"), name, entry))
    found.sort(key=lambda item: (item[0], item[1]))
    band = audit.get("disparity_band") or [0.8, 1.25]
    return [_disparity(name, entry, reference, ref, band, post) for _, name, entry in found]


def _disparity(
    name: str,
    entry: dict[str, Any],
    reference: str,
    ref: dict[str, Any],
    band: list[float],
    post: Posteriors,
) -> Finding:
    anyone = entry["sanctions"]["any"]
    ratio = anyone["disparate_impact"]
    interval = anyone.get("disparate_impact_interval") or [None, None]
    flagged = bool(anyone.get("four_fifths_flag_significant"))
    where = (
        "outside the band of 0.8 to 1.25 with its whole interval: flagged"
        if flagged
        else "not flagged: its interval reaches into the band of "
        f"{fmt.ratio(band[0])} to {fmt.ratio(band[1])}"
        if anyone.get("four_fifths_flag")
        else "within the band of 0.8 to 1.25"
    )
    text = (
        f"{name} is sanctioned {times_words(ratio)} as {reference} (the group's rate ÷ "
        f"{reference}'s; 95% interval {fmt.ratio_interval(interval)}), {where}. "
        + _why(entry, ref, reference, post)
    )
    verb = "more" if ratio > 1 else "less"
    title = f"{name}: sanctioned {times_words(ratio)} as {reference}" + (
        "" if abs(ratio - 1) < 0.005 else f" ({verb} often)"
    )
    return Finding(title, text)


def _why(entry: dict[str, Any], ref: dict[str, Any], reference: str, post: Posteriors) -> str:
    """Why: the excess sanction rate split by the truth into rightful sanctions (more of their
    offences detected: surveillance) and wrongful ones (errors), with the two mechanisms'
    ratios: correct records per true offence, wrongful records per citizen."""
    anyone, theirs = entry["sanctions"]["any"], ref["sanctions"]["any"]
    n, n_ref = entry.get("citizens", 0), ref.get("citizens", 0)
    rightful = post.share(anyone["sanctioned"] - anyone["wrongful"], n) - post.share(
        theirs["sanctioned"] - theirs["wrongful"], n_ref, side=1
    )
    wrongful = post.share(anyone["wrongful"], n) - post.share(theirs["wrongful"], n_ref, side=1)
    excess = anyone.get("excess_sanction_rate") or {}
    seen = _ratio(
        post,
        (entry.get("records", 0) - entry.get("wrongful_records", 0), entry.get("true_offences", 0)),
        (ref.get("records", 0) - ref.get("wrongful_records", 0), ref.get("true_offences", 0)),
    )
    errors = _ratio(
        post,
        (entry.get("wrongful_records", 0), n),
        (ref.get("wrongful_records", 0), n_ref),
    )
    right, wrong = excess.get("from_rightful_sanctions"), excess.get("from_wrongful_sanctions")
    if right is None or wrong is None:
        return ""
    justified = _signed_rate(right, rightful, post)
    mistaken = _signed_rate(wrong, wrongful, post)
    surveillance = f"{seen} {reference}'s correct records per true offence"
    errors_words = f"{errors} {reference}'s wrongful records per citizen"
    return (
        f"Why, per 1,000 citizens (95% intervals in brackets): {justified} from sanctions "
        f"their own records justify (surveillance: {surveillance}) and {mistaken} from "
        f"wrongful sanctions (errors: {errors_words}). {_which(right, wrong)}"
    )


def _which(right: float, wrong: float) -> str:
    if abs(right) < 1e-12 and abs(wrong) < 1e-12:
        return "Neither accounts for a difference."
    if abs(right) >= abs(wrong):
        return f"Mostly {'more' if right > 0 else 'less'} surveillance, not errors."
    return f"Mostly {'more' if wrong > 0 else 'fewer'} errors, not what they did."


def _ratio(post: Posteriors, own: tuple[float, float], theirs: tuple[float, float]) -> str:
    """A ratio of two counts per unit, with its interval, in words: "1.4 times (… to …)"."""
    if own[1] <= 0 or theirs[1] <= 0 or theirs[0] <= 0:
        return "— times (too few to compare)"
    point = (own[0] / own[1]) / (theirs[0] / theirs[1])
    low, high = post.interval(post.per(*own) / post.per(*theirs, side=1))
    return f"{fmt.ratio(point)} times ({fmt.ratio(low)} to {fmt.ratio(high)})"


def _signed_rate(point: float, draws: np.ndarray, post: Posteriors) -> str:
    low, high = post.interval(draws)
    return (
        f"{fmt.signed_number(round(point * 1000, 2))} ("
        f"{fmt.signed_number(round(low * 1000, 2))} to {fmt.signed_number(round(high * 1000, 2))})"
    )


def _children(overall: dict[str, Any], post: Posteriors) -> Finding:
    reached, citizens = overall.get("children_reached", 0), overall.get("citizens", 0)
    households = overall.get("households_reached", 0)
    low, high = post.interval(post.per(reached, citizens) * POPULATION)
    text = (
        f"{fmt.integer(reached)} children were reached by a sanction on a parent that reaches "
        f"the family (a school or university ban, or one on the whole household), in "
        f"{fmt.integer(households)} households: {count_words(reached, citizens, post)}. At the "
        f"scale of 1.4 billion that would be about "
        f"{fmt.approximate(reached / max(citizens, 1) * POPULATION)} children (95% interval "
        f"{fmt.approximate(low)} to {fmt.approximate(high)})."
    )
    return Finding("Children pay for their parents' records", text)


def _mobility(overall: dict[str, Any], post: Posteriors) -> list[Finding]:
    out = []
    for name, entry in sorted(overall.get("policies", {}).items()):
        mobility = entry.get("mobility") or {}
        fell, climbed = mobility.get("fell_to_bottom_grade", 0), mobility.get("climbed_back", 0)
        if not fell:
            continue
        median = mobility.get("median_days_to_recover_at_most")
        took = (
            f"; half of those who climbed back took at most {fmt.integer(median)} days"
            if climbed and median is not None
            else ""
        )
        out.append(
            Finding(
                f"Who climbs back: {name}",
                f"{fmt.integer(fell)} {'citizen' if fell == 1 else 'citizens'} fell to {name}'s "
                "bottom grade "
                f"({mobility.get('bottom_grade')}) during the run; {fmt.integer(climbed)} of them "
                f"climbed back out before its end, {share_words(climbed, fell, post)}{took}. "
                "The others were still at the bottom when the run ended.",
            )
        )
    return out


# ---------------------------------------------------------------------------- a comparison


SAID = (
    ("sanctions.any.sanctioned", "citizens under a sanction"),
    ("sanctions.any.wrongful", "citizens sanctioned wrongfully (for nothing they did)"),
    ("wrongful_records", "wrongful records (against someone who did not do it)"),
    ("children_reached", "children reached by a sanction on a parent"),
    ("behaviour_change.offending.change_share", "change in offending against no system"),
    ("behaviour_change.speech.change_share", "change in speech (the chilling effect)"),
)


def compare_findings(data: dict[str, Any]) -> list[Finding]:
    """A comparison's findings: each headline's difference B − A (A the baseline) with its
    interval over the seeds, then each group's disparate impact in A and in B."""
    a = (data.get("a") or {}).get("scenario", "A")
    b = (data.get("b") or {}).get("scenario", "B")
    metrics = {m["metric"]: m for m in data.get("metrics", [])}
    seeds = len(data.get("seeds", []) or [])
    confidence = fmt.percent(data.get("confidence", 0.95))
    out = []
    for key, words in SAID:
        metric = metrics.get(key)
        if metric is None or (not metric.get("a_mean") and not metric.get("b_mean")):
            continue
        text = _compare_text(metric, a, b, confidence, seeds, data.get("population"))
        out.append(Finding(_compare_title(metric, words), text))
    out.extend(_compare_groups(metrics, a, b))
    if not out:
        out.append(Finding("No difference", f"{b} and {a} gave the same numbers on every seed."))
    return out


def _is_share(metric: str) -> bool:
    return metric.endswith(("_share", "_rate"))


def _show(metric: str, value: Any, signed: bool = True) -> str:
    if _is_share(metric):
        return fmt.percent(value, signed=signed)
    number = fmt.finite(value)
    if number is None:
        return "—"
    text = fmt.signed_number(round(number, 1)) if signed else fmt.number(round(number, 1))
    return text


def _compare_title(metric: dict[str, Any], words: str) -> str:
    return f"{words[0].upper()}{words[1:]}: {_show(metric['metric'], metric.get('difference'))}"


def _compare_text(
    metric: dict[str, Any], a: str, b: str, confidence: str, seeds: int, population: Any
) -> str:
    name = metric["metric"]
    low, high = metric.get("ci_low"), metric.get("ci_high")
    interval = (
        "no interval (a single seed)"
        if low is None or high is None
        else f"{confidence} interval {_show(name, low)} to {_show(name, high)} over {seeds} seeds"
    )
    unit = "" if _is_share(name) else f" per run of {fmt.integer(population)} citizens"
    significant = metric.get("significant")
    verdict = (
        "The interval excludes zero: the difference is not noise."
        if significant
        else "The interval includes zero: it may be noise."
        if significant is not None
        else ""
    )
    return (
        f"B − A, with A ({a}) the baseline: {_show(name, metric.get('difference'))}{unit} "
        f"({interval}); A {_show(name, metric.get('a_mean'), False)}, B "
        f"{_show(name, metric.get('b_mean'), False)}, on the same citizens and chances. {verdict}"
    ).strip()


def _compare_groups(metrics: dict[str, dict[str, Any]], a: str, b: str) -> list[Finding]:
    out = []
    for key, metric in metrics.items():
        if not (key.startswith("by_group.") and key.endswith(".any.disparate_impact")):
            continue
        group = key[len("by_group.") : -len(".any.disparate_impact")]
        a_mean, b_mean = fmt.finite(metric.get("a_mean")), fmt.finite(metric.get("b_mean"))
        if b_mean is None or abs(b_mean - 1.0) < 0.2:
            continue
        before = "no sanction to compare" if a_mean is None else times_words(a_mean)
        out.append(
            Finding(
                f"{group}: sanctioned {times_words(b_mean)} under {b}",
                f"Averaged over the seeds, {group} is sanctioned {times_words(b_mean)} as the "
                f"reference group under {b} (the group's rate ÷ the reference's; outside 0.8 to "
                f"1.25 it is flagged), against {before} under {a}. Each run's own interval is in "
                "its report.",
            )
        )
    return out


def as_dicts(findings: list[Finding]) -> list[dict[str, str]]:
    return [finding.to_dict() for finding in findings]


__all__ = ["Finding", "Posteriors", "as_dicts", "compare_findings", "run_findings"]
