"""The synthetic public blacklist, as its victims would see it, and what the simulator knows.

Entries come from `RunResult.blacklist()`: one row per published entry, with the columns in
`COLUMNS`. The names and ID numbers shown are invented here, from the citizen's id and the run's
seed (the same run always shows the same ones): names from syllable tables that no real name
system uses, ID numbers of random digits behind a region code that begins with 9 (no Chinese
province code does), masked as the real listings mask them. Dates count from a nominal
1 January 2018, day 0 of the run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

import pandas as pd

from creditsim.figures import numbers as fmt
from creditsim.report.prose import CAUSE_WORDS
from creditsim.web.guard import clip

COLUMNS = {
    "citizen": "int64",
    "entry": "object",
    "start_day": "int64",
    "end_day": "int64",
    "reasons": "object",
    "sanctions": "object",
    "wrongful": "bool",
    "wrongful_causes": "object",
    "region": "object",
    "group": "object",
    "age_band": "object",
    "income_band": "object",
    "household": "int64",
}
DAY_ZERO = dt.date(2018, 1, 1)
MAX_PER_PAGE = 100
ORDERS = ("published", "wrongful_first")
CALLER_SANCTION = "caller_message"
CALLER_MESSAGE = (
    "The person you are calling has been listed by the court as a dishonest person subject to "
    "enforcement. Please urge this person to fulfil their legal obligations."
)

# Syllables for invented names: pinyin-like, but with endings (-r, -l, -x, -v) and onsets (v-)
# that Mandarin does not have, so that no name made here is a real one.
FAMILY = ("Vor", "Quel", "Zhax", "Lir", "Dov", "Mex", "Tal", "Kiv", "Suo", "Brin", "Vau", "Nel",
          "Xar", "Ruv", "Pol", "Jex", "Hul", "Gar", "Zev", "Cuo")  # fmt: skip
GIVEN = ("ba", "lin", "vei", "rou", "xi", "mo", "tai", "qel", "zu", "ner", "ao", "vin", "sha",
         "lux", "dai", "mer", "ka", "ov", "pei", "jun")  # fmt: skip


class BlacklistUnavailable(LookupError):
    """This run's blacklist cannot be shown; the message says why."""


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise BlacklistUnavailable(
            f"the blacklist has no column {', '.join(missing)} (expected: {', '.join(COLUMNS)})"
        )
    out = frame[list(COLUMNS)].copy()
    for column in ("entry", "reasons", "sanctions", "wrongful_causes", "region", "group",
                   "age_band", "income_band"):  # fmt: skip
        out[column] = out[column].astype(str).where(out[column].notna(), "")
    for column in ("citizen", "start_day", "end_day", "household"):
        out[column] = out[column].astype("int64")
    out["wrongful"] = out["wrongful"].astype(bool)
    return out.sort_values(["start_day", "citizen", "entry"], kind="stable").reset_index(drop=True)


def synthetic_name(seed: int, citizen: int) -> str:
    """An invented name, the same for the same run seed and citizen."""
    digest = _digest(seed, citizen, "name")
    family = FAMILY[digest[0] % len(FAMILY)]
    given = GIVEN[digest[1] % len(GIVEN)]
    if digest[2] % 3:  # most given names have two syllables
        given += GIVEN[digest[3] % len(GIVEN)]
    return f"{family} {given.capitalize()}"


def synthetic_id(seed: int, citizen: int) -> str:
    """An invented 18-digit ID number of random digits, its region code beginning with 9."""
    digest = _digest(seed, citizen, "id")
    digits = "9" + "".join(str(byte % 10) for byte in digest[:17])
    return digits


def masked_id(seed: int, citizen: int) -> str:
    """The invented ID number masked as the listings mask it: 9xxx**********1234."""
    number = synthetic_id(seed, citizen)
    return number[:4] + "*" * 10 + number[-4:]


def page(
    frame: pd.DataFrame,
    *,
    seed: int,
    days: int,
    page_number: int = 1,
    per_page: int = 25,
    wrongful: bool | None = None,
    entry: str | None = None,
    order: str = "published",
    day_zero: dt.date = DAY_ZERO,
) -> dict[str, Any]:
    """One page of entries, filtered, each as the listing shows it beside the truth; `order`
    "published" (by date, as the listing) or "wrongful_first" (the wrongful entries first, each
    part by date)."""
    if order not in ORDERS:
        raise ValueError(
            f"field `order`: {clip(order)} is not an order; allowed: {', '.join(ORDERS)}"
        )
    entries = sorted(frame["entry"].unique().tolist())
    chosen = frame
    if entry:
        if entry not in entries:
            allowed = ", ".join(entries) if entries else "none (the list is empty)"
            raise ValueError(
                f"field `entry`: no entries of {clip(entry)} in this run; allowed: {allowed}"
            )
        chosen = chosen[chosen["entry"] == entry]
    if wrongful is not None:
        chosen = chosen[chosen["wrongful"] == wrongful]
    if order == "wrongful_first":
        chosen = chosen.sort_values("wrongful", ascending=False, kind="stable")
    total = len(chosen)
    pages = max(1, math.ceil(total / per_page))
    if page_number > pages:
        raise ValueError(f"field `page`: this list has {pages} page(s) (got {page_number})")
    rows = chosen.iloc[(page_number - 1) * per_page : page_number * per_page]
    return {
        "total": total,
        "page": page_number,
        "pages": pages,
        "per_page": per_page,
        "order": order,
        "entries_total": len(frame),
        "wrongful_total": int(frame["wrongful"].sum()),
        "citizens_total": int(frame["citizen"].nunique()),
        "kinds": [{"name": name, "label": entry_label(name)} for name in entries],
        "rows": [_row(row, seed, days, day_zero) for row in rows.itertuples(index=False)],
    }


def entry_label(name: str) -> str:
    if name == "blacklist":
        return "public blacklist"
    return fmt.label(name)


def date_of(day: int, day_zero: dt.date = DAY_ZERO) -> str:
    """The calendar date of a day of the run (day 0: the scenario's `run.start_date`)."""
    return (day_zero + dt.timedelta(days=int(day))).isoformat()


def _row(row: Any, seed: int, days: int, day_zero: dt.date = DAY_ZERO) -> dict[str, Any]:
    citizen = int(row.citizen)
    reasons = _names(row.reasons)
    sanctions = _names(row.sanctions)
    causes = _names(row.wrongful_causes)
    still = int(row.end_day) > days
    return {
        "citizen": citizen,
        "name": synthetic_name(seed, citizen),
        "id_number": masked_id(seed, citizen),
        "entry": row.entry,
        "entry_label": entry_label(row.entry),
        "reasons": [fmt.label(name) for name in reasons],
        "start_day": int(row.start_day),
        "end_day": int(row.end_day),
        "published": date_of(row.start_day, day_zero),
        "until": date_of(row.end_day, day_zero),
        "still_listed": still,
        "sanctions": [fmt.label(name) for name in sanctions],
        "caller_message": CALLER_MESSAGE if CALLER_SANCTION in sanctions else None,
        "truth": {
            "wrongful": bool(row.wrongful),
            "causes": [
                {"name": cause, "words": CAUSE_WORDS.get(cause, fmt.label(cause))}
                for cause in causes
            ],
            "region": row.region,
            "group": row.group,
            "age_band": row.age_band,
            "income_band": row.income_band,
            "household": int(row.household),
        },
    }


def _names(text: str) -> list[str]:
    return [part.strip() for part in str(text).split(",") if part.strip()]


def _digest(seed: int, citizen: int, purpose: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{citizen}:{purpose}".encode(), digest_size=32).digest()


__all__ = [
    "CALLER_MESSAGE",
    "COLUMNS",
    "BlacklistUnavailable",
    "entry_label",
    "masked_id",
    "normalise",
    "page",
    "synthetic_id",
    "synthetic_name",
]
