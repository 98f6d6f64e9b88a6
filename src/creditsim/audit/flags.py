"""The four-fifths flags of a run's audit, counted one way for every reader.

The audit keeps two lists: `flagged` (a group's disparate impact, its point estimate, lies
outside the band 0.8 to 1.25) and `flagged_significant` (the whole confidence interval lies
outside it). The dashboard's card and the command line's run summary both count with
`four_fifths`, so they say the same number and name the same convention: an outcome counts as
flagged when its whole interval lies outside the band; those outside by the point estimate alone
are named apart, as not significant.
"""

from __future__ import annotations

from typing import Any

CONVENTION = "whole interval"


def four_fifths(audit: dict[str, Any]) -> dict[str, Any]:
    """{count, flags, point_only, band, convention, words}: the flags counted by the whole
    confidence interval, those flagged by their point estimate alone, and a sentence saying
    which convention counts."""
    low, high = audit.get("disparity_band") or [0.8, 1.25]
    confidence = audit.get("confidence") or 0.95
    significant = sorted(audit.get("flagged_significant", []))
    point_only = sorted(set(audit.get("flagged", [])) - set(significant))
    band = f"{low:g} to {high:g}"
    words = (
        f"{_outcomes(len(significant))} flagged: counted where the whole {confidence:.0%} "
        f"interval of the disparate impact (a group's rate over the reference group's) lies "
        f"outside {band}"
    )
    if point_only:
        words += (
            f"; {_outcomes(len(point_only))} more outside it by the point estimate alone "
            "(not counted: the interval reaches into the band)"
        )
    return {
        "count": len(significant),
        "flags": significant,
        "point_only": point_only,
        "band": [low, high],
        "convention": CONVENTION,
        "words": words,
    }


def flag_words(flag: str) -> str:
    """'minority-b:flight_ban' -> 'minority-b: flight ban'; 'any' is any sanction."""
    group, _, outcome = flag.partition(":")
    name = "any sanction" if outcome == "any" else outcome.replace("_", " ")
    return f"{group}: {name}"


def _outcomes(count: int) -> str:
    return f"{count} outcome{'' if count == 1 else 's'}"


__all__ = ["CONVENTION", "flag_words", "four_fifths"]
