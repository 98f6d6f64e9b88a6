"""Numbers for people: thousands separators, percentages with sensible precision, labels."""

from __future__ import annotations

import math
from typing import Any


def integer(value: Any) -> str:
    """12,345; an absent value (None, NaN, an infinity) is an em dash."""
    if isinstance(value, int):  # exact, however large (a bool is 1 or 0)
        return f"{int(value):,}".replace("-", "−")
    number = finite(value)
    if number is None:
        return "—"
    return f"{round(number):,}".replace("-", "−")


def approximate(value: Any) -> str:
    """A large number rounded for reading: 18.1 million, 2.35 billion, 41,300; under 10,000
    exactly. An absent value is an em dash."""
    number = finite(value)
    if number is None:
        return "—"
    size = abs(number)
    for scale, word in ((1e9, "billion"), (1e6, "million")):
        if size >= scale:
            return f"{number / scale:.3g} {word}".replace("-", "−")
    if size < 10_000:
        return integer(number)
    digits = len(str(int(size))) - 3
    return integer(round(number, -digits))


def percent(share: Any, signed: bool = False) -> str:
    """A share as a percentage: 12%, 3.4%, 0.05%, under 0.01%; `signed` adds + or −."""
    number = finite(share)
    if number is None:
        return "—"
    value = number * 100.0
    sign = ""
    if signed:
        sign = "+" if value > 0 else "−" if value < 0 else ""
        value = abs(value)
    elif value < 0:
        sign, value = "−", -value
    if value == 0:
        return "0%"
    if value < 0.005:
        return f"{sign}0.00%" if signed else "under 0.01%"
    if value < 0.995:
        text = f"{value:.2f}"
    elif value < 9.95:
        text = f"{value:.1f}"
    else:
        text = f"{value:,.0f}"
    return f"{sign}{text}%"


def ratio(value: Any) -> str:
    """A ratio such as a disparate-impact ratio: 0.83; absent: em dash."""
    number = finite(value)
    return "—" if number is None else f"{number:.2f}"


def ratio_interval(interval: Any) -> str:
    """A ratio's confidence interval: "0.41 to 0.77"; unbounded above (a small group with no
    sanction in some resamples): "0.41 or more"; none: em dash."""
    if not isinstance(interval, list | tuple) or len(interval) != 2 or finite(interval[0]) is None:
        return "—"
    if finite(interval[1]) is None:
        return f"{ratio(interval[0])} or more"
    return f"{ratio(interval[0])} to {ratio(interval[1])}"


def number(value: Any, digits: int = 3) -> str:
    """Any number, for a table: integers with separators, others to `digits` significant."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int):
        value = finite(value)
        if value is None:
            return "—"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return integer(value)
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.{digits}g}"
    return text.replace("-", "−") if text.startswith("-") else text


def signed_number(value: Any, digits: int = 3) -> str:
    if not isinstance(value, int):
        value = finite(value)
        if value is None:
            return "—"
    text = number(abs(value), digits)
    return f"+{text}" if value > 0 else f"−{text}" if value < 0 else text


def denied(entry: dict[str, Any]) -> str:
    """A sanction's ticket purchases denied, and in brackets the same at 1.4 billion; a dash
    for a sanction that bars no purchase."""
    count = entry.get("denied_purchases")
    if count is None:
        return "—"
    return f"{integer(count)} ({integer(entry.get('denied_purchases_at_1_4_billion'))})"


def label(name: str) -> str:
    """A machine name for people: flight_ban -> flight ban; list:debtors -> list: debtors."""
    if name.startswith("list:"):
        return f"list: {label(name[5:])}"
    if name.startswith("policy:"):
        return f"low grade of {label(name[7:])}"
    return name.replace("_", " ")


def per_thousand(count: float, citizens: float) -> float:
    return 1000.0 * count / citizens if citizens else math.nan


def finite(value: Any) -> float | None:
    """A value as a finite float, or None where there is none: None, NaN, an infinity, or
    anything that is not a number (an audit gives None for a rate of a group with nobody in it)."""
    if value is None or isinstance(value, bool | str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def rate(value: Any, scale: float = 1.0, digits: int = 1) -> str:
    """A rate scaled (per 1,000: `scale` 1000) to `digits` decimals; none: em dash."""
    number = finite(value)
    if number is None:
        return "—"
    return f"{number * scale:,.{digits}f}".replace("-", "−")


def per_thousand_text(count: Any, citizens: Any, digits: int = 1) -> str:
    """count per 1,000 citizens, to `digits` decimals; no citizens: em dash."""
    count, citizens = finite(count), finite(citizens)
    if count is None or not citizens:
        return "—"
    return rate(count / citizens, 1000.0, digits)
