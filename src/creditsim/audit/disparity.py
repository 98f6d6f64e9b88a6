"""The audit: wrongful sanctions, and disparity by group and by region, from additive tallies.

Ground truth is known here, so the confusion matrix is exact: a citizen "deserved" a sanction when
the policy, fed every true event on its true actor, would have imposed it. A sanction is wrongful
when the citizen's own correctly attributed records would not have triggered it.

Sanctions are adverse outcomes, so the disparate-impact ratio is the reference group's sanction
rate over the group's: below the four-fifths threshold (0.8) means the group is sanctioned more
than 1.25 times as often as the reference group, and is flagged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from creditsim.channels.records import CAUSES
from creditsim.scenario.schema import Scenario

POPULATION = 1_400_000_000  # reference: population


def build_audit(scenario: Scenario, tallies: dict[str, np.ndarray]) -> dict[str, Any]:
    regions = [r.name for r in scenario.regions]
    groups = [g.name for g in scenario.groups]
    shape = (len(regions), len(groups))
    sanctions = [s.name for s in scenario.sanctions]
    outcomes = [*sanctions, "any"] if sanctions else []

    def cells(key: str) -> np.ndarray:
        return tallies[key].reshape(shape)

    citizens = int(tallies["citizens"].sum())
    overall: dict[str, Any] = {
        "citizens": citizens,
        "households": int(tallies["households"].sum()),
        "true_events": int(tallies["true_events"].sum()),
        "true_offences": int(tallies["true_offences"].sum()),
        "offenders": int(tallies["offenders"].sum()),
        "records": int(tallies["records"].sum()),
        "wrongful_records": int(tallies["wrongful_records"].sum()),
        "fabricated_records": int(tallies["fabricated_records"].sum()),
        "records_by_cause": dict(zip(CAUSES, map(int, tallies["records_by_cause"]), strict=True)),
        "events_by_behaviour": dict(
            zip(
                [b.name for b in scenario.behaviours],
                map(int, tallies["events_by_behaviour"]),
                strict=True,
            )
        ),
        "children_reached": int(tallies["children_reached"].sum()),
        "children_living_with_a_sanctioned_citizen": int(
            tallies["children_with_sanctioned_household"].sum()
        ),
        "households_reached": int(tallies["households_reached"].sum()),
    }
    scale = POPULATION / max(citizens, 1)
    per_sanction: dict[str, Any] = {}
    for name in outcomes:
        sanctioned = int(tallies[f"{name}:sanctioned"].sum())
        wrongful = int(tallies[f"{name}:wrongful"].sum())
        entry: dict[str, Any] = {
            "sanctioned": sanctioned,
            "wrongful": wrongful,
            "wrongful_share": _ratio(wrongful, sanctioned),
            "deserved": int(tallies[f"{name}:deserved"].sum()),
            **_confusion(
                citizens,
                sanctioned,
                int(tallies[f"{name}:deserved"].sum()),
                int(tallies[f"{name}:true_positive"].sum()),
            ),
        }
        if f"{name}:denied_purchases" in tallies:
            denied = int(tallies[f"{name}:denied_purchases"].sum())
            entry["denied_purchases"] = denied
            entry["denied_purchases_at_1_4_billion"] = round(denied * scale)
        if name != "any":
            entry["person_days"] = int(tallies[f"{name}:days"].sum())
            entry["sanctioned_at_1_4_billion"] = round(sanctioned * scale)
        per_sanction[name] = entry
    overall["sanctions"] = per_sanction

    reference = _reference_group(scenario, cells("citizens"), groups)
    threshold = scenario.audit.four_fifths_threshold
    by_group = _breakdown(tallies, outcomes, groups, shape, axis=0, reference=reference,
                          threshold=threshold)  # fmt: skip
    by_region = _breakdown(tallies, outcomes, regions, shape, axis=1, reference=None,
                           threshold=threshold)  # fmt: skip
    flagged = sorted(
        {
            f"{group}:{name}"
            for group, metrics in by_group.items()
            for name, m in metrics["sanctions"].items()
            if m.get("four_fifths_flag")
        }
    )
    return {
        "scenario": scenario.name,
        "system_enabled": scenario.system_enabled,
        "reference_group": reference,
        "four_fifths_threshold": threshold,
        "overall": overall,
        "by_group": by_group,
        "by_region": by_region,
        "flagged": flagged,
        "definitions": {
            "wrongful": "sanctioned, but the citizen's own correctly attributed records would "
            "not have triggered the sanction",
            "deserved": "the policy would have imposed the sanction had every true event been "
            "recorded against its true actor",
            "disparate_impact": "reference group's sanction rate / this group's sanction rate; "
            "below the threshold the group is flagged",
            "sanction_rate_per_true_offence": "citizens sanctioned / true offences committed",
        },
    }


def _breakdown(tallies, outcomes, names, shape, axis, reference, threshold) -> dict[str, Any]:
    def along(key: str) -> np.ndarray:
        return tallies[key].reshape(shape).sum(axis=axis)

    citizens = along("citizens")
    offences = along("true_offences")
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        out[name] = {
            "citizens": int(citizens[i]),
            "true_offences": int(offences[i]),
            "offenders": int(along("offenders")[i]),
            "records": int(along("records")[i]),
            "wrongful_records": int(along("wrongful_records")[i]),
            "children_reached": int(along("children_reached")[i]),
            "sanctions": {},
        }
    for outcome in outcomes:
        sanctioned = along(f"{outcome}:sanctioned")
        rates = sanctioned / np.maximum(citizens, 1)
        ref_rate = rates[names.index(reference)] if reference is not None else None
        for i, name in enumerate(names):
            metrics = {
                "sanctioned": int(sanctioned[i]),
                "sanction_rate": float(rates[i]),
                "sanction_rate_per_true_offence": _ratio(sanctioned[i], offences[i]),
                "wrongful": int(along(f"{outcome}:wrongful")[i]),
                **_confusion(
                    int(citizens[i]),
                    int(sanctioned[i]),
                    int(along(f"{outcome}:deserved")[i]),
                    int(along(f"{outcome}:true_positive")[i]),
                ),
            }
            metrics["wrongful_share"] = _ratio(metrics["wrongful"], sanctioned[i])
            if ref_rate is not None:
                metrics["relative_rate"] = _ratio(rates[i], ref_rate)
                impact = _ratio(ref_rate, rates[i])
                metrics["disparate_impact"] = impact
                metrics["four_fifths_flag"] = bool(impact is not None and impact < threshold)
            out[name]["sanctions"][outcome] = metrics
    return out


def _confusion(citizens: int, sanctioned: int, deserved: int, true_positive: int) -> dict:
    false_positive = sanctioned - true_positive
    false_negative = deserved - true_positive
    true_negative = citizens - sanctioned - false_negative
    return {
        "true_positive": true_positive,
        "false_positive": false_positive,
        "false_negative": false_negative,
        "true_negative": true_negative,
        "false_positive_rate": _ratio(false_positive, false_positive + true_negative),
        "false_negative_rate": _ratio(false_negative, false_negative + true_positive),
    }


def _reference_group(scenario: Scenario, citizens: np.ndarray, groups: list[str]) -> str:
    if scenario.audit.reference_group is not None:
        return scenario.audit.reference_group
    return groups[int(np.argmax(citizens.sum(axis=0)))]


def _ratio(numerator, denominator) -> float | None:
    return float(numerator) / float(denominator) if denominator else None
