"""The audit as one flat row of numbers: what compare differences and sweep tables are made of.

One definition, so that a comparison and a sweep name and count every metric the same way. The
names are dotted paths that say where a number comes from in `audit.json`:

- `true_events`, `true_offences`, `records`, `wrongful_records`, `children_reached`,
  `households_reached`: counts over all citizens;
- `sanctions.NAME.sanctioned`, `.wrongful`, `.denied_purchases`, `.person_days` for each sanction
  and reward and for `any` (a field the audit does not give for an entry is left out);
- `lists.NAME.sanctioned`, `.wrongful`, `.person_days`: citizens on each list;
- `policies.NAME.punished`, `.punished_wrongfully`: citizens at or below each score policy's low
  grade;
- `behaviour_change.offending.change`, `.change_share`, and `behaviour_change.CATEGORY.change_share`
  (speech: the chilling effect), against the same citizens without the system;
- `by_group.GROUP.any.sanction_rate` and `.disparate_impact` (the group's rate over the
  reference group's, like every disparity: above 1 the group is sanctioned more, flagged outside
  0.8 to 1.25).

In a comparison each metric's difference is B - A, with A the baseline (no system, or the policy
in force).

An undefined value (a ratio over zero) is NaN, so that every metric is a float.
"""

from __future__ import annotations

import math
from typing import Any

OVERALL_COUNTS = (
    "true_events",
    "true_offences",
    "records",
    "wrongful_records",
    "children_reached",
    "households_reached",
)
SANCTION_FIELDS = ("sanctioned", "wrongful", "denied_purchases", "person_days")
LIST_FIELDS = ("sanctioned", "wrongful", "person_days")
GROUP_FIELDS = ("sanction_rate", "disparate_impact")

# The few metrics that summarise a run: shown in sweep summaries and kept in the catalogue.
HEADLINE = (
    "sanctions.any.sanctioned",
    "sanctions.any.wrongful",
    "wrongful_records",
    "children_reached",
    "behaviour_change.offending.change_share",
)


def flatten_audit(audit: dict[str, Any]) -> dict[str, float]:
    """The audit's headline metrics as {name: float}, in a fixed order (see the module's doc)."""
    overall = audit["overall"]
    flat: dict[str, float] = {name: _number(overall.get(name)) for name in OVERALL_COUNTS}
    for name, entry in overall.get("sanctions", {}).items():
        for field in SANCTION_FIELDS:
            if field in entry:
                flat[f"sanctions.{name}.{field}"] = _number(entry[field])
    for name, entry in overall.get("lists", {}).items():
        for field in LIST_FIELDS:
            if field in entry:
                flat[f"lists.{name}.{field}"] = _number(entry[field])
    for name, entry in overall.get("policies", {}).items():
        punished = entry.get("punished", {})
        flat[f"policies.{name}.punished"] = _number(punished.get("sanctioned"))
        flat[f"policies.{name}.punished_wrongfully"] = _number(punished.get("wrongful"))
    change = overall.get("behaviour_change", {})
    offending = change.get("offending", {})
    flat["behaviour_change.offending.change"] = _number(offending.get("change"))
    flat["behaviour_change.offending.change_share"] = _number(offending.get("change_share"))
    for category, entry in change.get("by_category", {}).items():
        flat[f"behaviour_change.{category}.change_share"] = _number(entry.get("change_share"))
    for group, entry in audit.get("by_group", {}).items():
        anyone = entry.get("sanctions", {}).get("any")
        if anyone is None:
            continue
        for field in GROUP_FIELDS:
            flat[f"by_group.{group}.any.{field}"] = _number(anyone.get(field))
    return flat


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


__all__ = ["HEADLINE", "flatten_audit"]
