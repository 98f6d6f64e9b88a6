"""The audit: wrongful sanctions, and disparity by group, region, income band and their
intersections, from additive tallies.

Ground truth is known here, so the confusion matrix is exact: a citizen "deserved" a sanction when
the policy, fed every true event on its true actor, would have imposed it. A sanction is wrongful
when the citizen's own correctly attributed records would not have triggered it.

Per group the audit gives what Aequitas gives (the confusion-matrix rates and their disparities
against a reference group, flagged outside the band [threshold, 1 / threshold]), with the ground
truth Aequitas never has, and an interval on every rate and ratio, so that a small group's noise
is not read as bias. Every disparity is the group's rate over the reference group's, as Aequitas
states it, the disparate impact (of the sanction rate) included: 1.4 means the group is
sanctioned 1.4 times as often as the reference group; outside 0.8 to 1.25 (the four-fifths rule
and its inverse) it is flagged.

The intervals are in `audit/intervals.py`; the method, as each audit states it, in
`audit/method.py`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from creditsim.audit.calendar import CONVENTION as CALENDAR_CONVENTION
from creditsim.audit.calendar import by_year, period_of_interest
from creditsim.audit.intervals import (
    DRAWN_FRACTIONS,
    Posterior,
    eight_counts,
    fractions_of,
    gamma_draws,
    interval_bounds,
)
from creditsim.audit.method import DEFINITIONS
from creditsim.audit.rates import RATES, rates
from creditsim.channels.records import CAUSES
from creditsim.engine.shard import RECOVERY_BIN_DAYS
from creditsim.scenario.schema import INCOME_BANDS, POPULATION, Scenario

_Posterior, _gamma = Posterior, gamma_draws  # as tests and benchmarks import them from here


def build_audit(scenario: Scenario, tallies: dict[str, np.ndarray], seed: int = 0) -> dict:
    """The audit of a run from its tallies: the totals, then the breakdowns by group, region,
    income band and their intersections, each with its intervals and disparity flags."""
    regions = [r.name for r in scenario.regions]
    groups = [g.name for g in scenario.groups]
    shape = (len(regions), len(groups), len(INCOME_BANDS))
    outcomes = _outcomes(scenario)
    settings = scenario.audit
    threshold = settings.four_fifths_threshold
    overall = _overall(scenario, tallies, outcomes)
    reference = _reference(scenario, tallies, shape, outcomes)
    posterior = Posterior(settings.bootstrap_replicates, settings.confidence, seed)

    def breakdown(names: list[str], axes: tuple[int, ...], reference_index: int | None):
        return _breakdown(
            tallies, shape, outcomes, names, axes, reference_index, threshold, posterior,
            scenario.policy.name,
        )  # fmt: skip

    by_group = breakdown(groups, (0, 2), groups.index(reference))
    by_region = breakdown(regions, (1, 2), None)
    by_income = breakdown(list(INCOME_BANDS), (0, 1), None)
    intersections = _intersections(
        tallies, shape, outcomes, regions, groups, groups.index(reference), threshold, posterior
    )
    flagged, significant = _flags(by_group)
    return {
        "scenario": scenario.name,
        "system_enabled": scenario.system_enabled,
        "reference_group": reference,
        "reference_rule": settings.reference_group,
        "four_fifths_threshold": threshold,
        "disparity_band": [threshold, 1.0 / threshold],
        "confidence": settings.confidence,
        "interval_method": "jeffreys",
        "posterior_draws": settings.bootstrap_replicates,
        "overall": overall,
        "by_group": by_group,
        "by_region": by_region,
        "by_income_band": by_income,
        "intersections": intersections,
        "flagged": sorted(flagged),
        "flagged_significant": sorted(significant),
        "by_year": by_year(scenario, tallies),
        "period_of_interest": period_of_interest(scenario, tallies),
        "calendar_convention": CALENDAR_CONVENTION,
        "definitions": DEFINITIONS,
    }


def _outcomes(scenario: Scenario) -> list[str]:
    """Every outcome audited: each sanction and any sanction, then the lists and each score
    policy's low grade, which are audited like sanctions."""
    sanctions = [s.name for s in scenario.sanctions]
    outcomes = [*sanctions, "any"] if sanctions else []
    outcomes += [f"list:{p.name}" for p in scenario.list_policies]
    outcomes += [f"policy:{p.name}" for p in scenario.score_policies]
    return outcomes


def _overall(scenario: Scenario, tallies: dict[str, np.ndarray], outcomes: list[str]) -> dict:
    """The whole population's figures: the totals, each sanction, list and policy, the side by
    side of the policies, exemptions, behaviour change and the attacks."""
    groups = [g.name for g in scenario.groups]
    shape = (len(scenario.regions), len(groups), len(INCOME_BANDS))
    overall = _totals(scenario, tallies)
    scale = POPULATION / max(overall["citizens"], 1)
    overall["sanctions"] = {
        name: _sanction_entry(tallies, name, scale) for name in outcomes if ":" not in name
    }
    overall["lists"] = {p.name: _list_entry(p.name, tallies, scale) for p in scenario.list_policies}
    overall["policies"] = {
        p.name: _policy_entry(scenario, p, tallies) for p in scenario.score_policies
    }
    overall["side_by_side"] = _side_by_side(scenario, tallies, shape, groups)
    overall["mobility"] = overall["policies"][scenario.policy.name]["mobility"]
    overall["exemptions"] = _exemptions(tallies, outcomes, overall["citizens"])
    overall["behaviour_change"] = _behaviour_change(scenario, tallies)
    overall["attacks"] = _attacks(tallies)
    return overall


def _totals(scenario: Scenario, tallies: dict[str, np.ndarray]) -> dict[str, Any]:
    """Citizens, events, records and the reach of sanctions into households, over everyone."""
    behaviours = [b.name for b in scenario.behaviours]
    return {
        "citizens": int(tallies["citizens"].sum()),
        "households": int(tallies["households"].sum()),
        "true_events": int(tallies["true_events"].sum()),
        "true_offences": int(tallies["true_offences"].sum()),
        "offenders": int(tallies["offenders"].sum()),
        "records": int(tallies["records"].sum()),
        "wrongful_records": int(tallies["wrongful_records"].sum()),
        "fabricated_records": int(tallies["fabricated_records"].sum()),
        "records_by_cause": dict(zip(CAUSES, map(int, tallies["records_by_cause"]), strict=True)),
        "events_by_behaviour": dict(
            zip(behaviours, map(int, tallies["events_by_behaviour"]), strict=True)
        ),
        "children_reached": int(tallies["children_reached"].sum()),
        "children_living_with_a_sanctioned_citizen": int(
            tallies["children_with_sanctioned_household"].sum()
        ),
        "households_reached": int(tallies["households_reached"].sum()),
    }


def _sanction_entry(tallies: dict[str, np.ndarray], name: str, scale: float) -> dict[str, Any]:
    """One sanction (or any sanction) over everyone: its confusion matrix and rates, the
    purchases it denied, its wrongful sanctions by cause, and (each sanction) its appeals and
    its person-days, scaled to 1.4 billion where a count is."""
    counts = _Counts.of(tallies, name, ())
    entry: dict[str, Any] = {**counts.metrics()}
    if f"{name}:denied_purchases" in tallies:
        denied = int(tallies[f"{name}:denied_purchases"].sum())
        entry["denied_purchases"] = denied
        entry["denied_purchases_at_1_4_billion"] = round(denied * scale)
    entry["wrongful_by_cause"] = _wrongful_by_cause(tallies, name)
    reached = "children_reached" if name == "any" else f"{name}:children_reached"
    if reached in tallies:
        entry["children_reached"] = int(tallies[reached].sum())
    if name != "any":
        entry["appeals"] = _appeals(
            tallies, name, "sanction intervals (one per citizen unless a sanction ended and "
            "began again)",
        )  # fmt: skip
        entry["person_days"] = int(tallies[f"{name}:days"].sum())
        entry["sanctioned_at_1_4_billion"] = round(counts.sanctioned * scale)
    return entry


def _attacks(tallies: dict[str, np.ndarray]) -> dict[str, Any]:
    """What the attacks put into the records, and what a leak exposed."""
    exposed_records, exposed_citizens = (int(v) for v in tallies["leak"])
    by_cause = tallies["records_by_cause"]
    return {
        "insider_records": int(by_cause[CAUSES.index("insider")]),
        "coordinated_false_reports": int(by_cause[CAUSES.index("coordinated_false_report")]),
        "leak": {"records_exposed": exposed_records, "citizens_exposed": exposed_citizens},
    }


def _reference(scenario: Scenario, tallies: dict[str, np.ndarray], shape, outcomes) -> str:
    """The reference group the disparities are taken against, by the scenario's rule."""
    groups = [g.name for g in scenario.groups]
    by_group_citizens = tallies["citizens"].reshape(shape).sum(axis=(0, 2))
    sanctioned = tallies["any:sanctioned"].reshape(shape) if outcomes else None
    sanctioned_any = sanctioned.sum(axis=(0, 2)) if sanctioned is not None else None
    return _reference_group(
        scenario.audit.reference_group, groups, by_group_citizens, sanctioned_any
    )


def _flags(by_group: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The group:outcome pairs outside the disparity band, and those whose whole interval is."""
    flagged, significant = set(), set()
    for group, metrics in by_group.items():
        for name, m in metrics["sanctions"].items():
            if m.get("four_fifths_flag"):
                flagged.add(f"{group}:{name}")
            if m.get("four_fifths_flag_significant"):
                significant.add(f"{group}:{name}")
    return flagged, significant


def _behaviour_change(scenario: Scenario, tallies: dict[str, np.ndarray]) -> dict[str, Any]:
    """True events with the system against the same citizens without it (paired, common random
    numbers): deterrence of offending, and the chilling of speech, by category and by group."""
    groups = [g.name for g in scenario.groups]
    shape = (len(scenario.behaviours), len(groups))
    before = tallies["events_without_system"].reshape(shape)
    after = tallies["events_with_system"].reshape(shape)

    def compare(rows: np.ndarray, columns=slice(None)) -> dict[str, Any]:
        b, a = int(before[rows][:, columns].sum()), int(after[rows][:, columns].sum())
        return {
            "without_system": b,
            "with_system": a,
            "change": a - b,
            "change_share": _ratio(a - b, b),
        }

    categories = sorted({b.category for b in scenario.behaviours})
    category = np.array([b.category for b in scenario.behaviours])
    offence = np.array([b.offence for b in scenario.behaviours])
    return {
        "offending": compare(offence),
        "offending_by_group": {g: compare(offence, i) for i, g in enumerate(groups)},
        "by_category": {c: compare(category == c) for c in categories},
        "by_behaviour": {
            b.name: compare(np.arange(len(category)) == i)
            for i, b in enumerate(scenario.behaviours)
        },
        "note": "speech is the category of posts and rumours: its fall is the chilling effect",
    }


def _exemptions(tallies: dict[str, np.ndarray], outcomes: list[str], citizens: int) -> dict:
    """Who the exempt are spared, against everyone else: of those who deserved a sanction,
    the share who got one."""
    exempt = int(tallies["exempt_citizens"].sum())
    out: dict[str, Any] = {"exempt_citizens": exempt, "sanctions": {}}
    for name in outcomes:
        sanctioned, deserved, caught = (int(v) for v in tallies[f"{name}:exempt"])
        others_deserved = int(tallies[f"{name}:deserved"].sum()) - deserved
        others_caught = int(tallies[f"{name}:true_positive"].sum()) - caught
        out["sanctions"][name] = {
            "exempt_sanctioned": sanctioned,
            "exempt_deserved": deserved,
            "exempt_sanction_rate": _ratio(sanctioned, exempt),
            "others_sanction_rate": _ratio(
                int(tallies[f"{name}:sanctioned"].sum()) - sanctioned, citizens - exempt
            ),
            "exempt_true_positive_rate": _ratio(caught, deserved),
            "others_true_positive_rate": _ratio(others_caught, others_deserved),
        }
    return out


def _wrongful_by_cause(tallies: dict[str, np.ndarray], outcome: str) -> dict[str, int]:
    return {
        cause: int(count)
        for cause, count in zip(CAUSES, tallies[f"{outcome}:wrongful_by_cause"], strict=True)
        if cause != "correct"
    }


def _appeals(tallies: dict[str, np.ndarray], outcome: str, unit: str) -> dict[str, Any]:
    filed, upheld, insincere, lifted, wrongful_lifted, wrongful_filed = (
        int(v) for v in tallies[f"{outcome}:appeals"]
    )
    return {
        "filed": filed,
        "upheld": upheld,
        "ruled_insincere": insincere,
        "lifted": lifted,
        "success_share": _ratio(upheld, filed),
        "wrongful_appealed": wrongful_filed,
        "wrongful_lifted": wrongful_lifted,
        "unit": unit,
    }


def _list_entry(name: str, tallies: dict[str, np.ndarray], scale: float) -> dict[str, Any]:
    """Who is on a list, rightly or not, and how entries end."""
    key = f"list:{name}"
    counts = _Counts.of(tallies, key, ())
    entries, ended, appealed, still = (int(v) for v in tallies[f"{key}:removal"])
    return {
        **counts.metrics(),
        "listed_at_1_4_billion": round(counts.sanctioned * scale),
        "person_days": int(tallies[f"{key}:days"].sum()),
        "wrongful_by_cause": _wrongful_by_cause(tallies, key),
        "appeals": _appeals(
            tallies, key, "list entries (one per citizen unless removed and listed again)"
        ),  # fmt: skip
        "entries": {
            "total": entries,
            "ended_by_term_or_payment": ended,
            "lifted_on_appeal": appealed,
            "still_listed_at_end": still,
        },
    }


def _policy_entry(scenario: Scenario, policy, tallies: dict[str, np.ndarray]) -> dict[str, Any]:
    """A score policy's punished citizens (ever at or below its low grade), and why."""
    key = f"policy:{policy.name}"
    counts = _Counts.of(tallies, key, ())
    categories = sorted({b.category for b in scenario.behaviours}) + ["informing_or_insider"]
    by_category = tallies[f"{key}:records_by_category"]
    total = int(by_category.sum())
    return {
        "type": policy.type,
        "scale": [policy.minimum, policy.maximum],
        "published": policy.published,
        "reads_channels": policy.reads_channels,
        "low_grade": policy.grades[policy.low_grade_index()].grade,
        "punished": counts.metrics(),
        "wrongful_by_cause": _wrongful_by_cause(tallies, key),
        "why_deductions_recorded_against_the_punished": {
            c: {"records": int(v), "share": _ratio(int(v), total)}
            for c, v in zip(categories, by_category, strict=True)
            if v
        },
        "mobility": _mobility(policy, tallies),
    }


def _side_by_side(scenario: Scenario, tallies, shape, groups) -> list[dict[str, Any]]:
    """Each pair of score policies on the same citizens (a social credit score beside a
    FICO-like baseline above all): who each punishes, who both do, and by group."""
    policies = scenario.score_policies
    pairs = []
    for i, a in enumerate(policies):
        for b in policies[i + 1 :]:
            both = tallies[f"overlap:{a.name}:{b.name}"].reshape(shape)
            only = {}
            rows: dict[str, Any] = {}
            pa_ = tallies[f"policy:{a.name}:sanctioned"].reshape(shape)
            pb_ = tallies[f"policy:{b.name}:sanctioned"].reshape(shape)
            citizens = tallies["citizens"].reshape(shape)
            for g, group in enumerate(groups):
                n = int(citizens[:, g].sum())
                rows[group] = {
                    f"punished_rate_{a.name}": _ratio(int(pa_[:, g].sum()), n),
                    f"punished_rate_{b.name}": _ratio(int(pb_[:, g].sum()), n),
                    "both_rate": _ratio(int(both[:, g].sum()), n),
                }
            for p, total in ((a, pa_), (b, pb_)):
                only[p.name] = int(total.sum() - both.sum())
            pairs.append(
                {
                    "policies": [a.name, b.name],
                    "types": [a.type, b.type],
                    f"punished_by_{a.name}": int(pa_.sum()),
                    f"punished_by_{b.name}": int(pb_.sum()),
                    "punished_by_both": int(both.sum()),
                    f"only_{a.name}": only[a.name],
                    f"only_{b.name}": only[b.name],
                    "jaccard": _ratio(int(both.sum()), int(pa_.sum() + pb_.sum() - both.sum())),
                    f"wrongful_share_{a.name}": _ratio(
                        int(tallies[f"policy:{a.name}:wrongful"].sum()), int(pa_.sum())
                    ),
                    f"wrongful_share_{b.name}": _ratio(
                        int(tallies[f"policy:{b.name}:wrongful"].sum()), int(pb_.sum())
                    ),
                    "by_group": rows,
                }
            )
    return pairs


def _mobility(policy, tallies: dict[str, np.ndarray]) -> dict[str, Any]:
    """Grade transitions over the run, and whether those who fall to the bottom climb back."""
    key = f"policy:{policy.name}"
    grades = [band.grade for band in policy.grades]
    transitions = tallies[f"{key}:grade_transitions"].reshape(len(grades), len(grades))
    fell = int(tallies[f"{key}:bottom_entered"].sum())
    climbed = int(tallies[f"{key}:bottom_recovered"].sum())
    histogram = tallies[f"{key}:recovery_days"]
    median = None
    if climbed:
        # The bin holding the middle climber, given as the bin's upper edge in days.
        middle = int(np.searchsorted(np.cumsum(histogram), (climbed + 1) // 2))
        median = (middle + 1) * RECOVERY_BIN_DAYS
    return {
        "grades": grades,
        "transitions_start_to_end": transitions.astype(int).tolist(),
        "bottom_grade": grades[-1],
        "fell_to_bottom_grade": fell,
        "climbed_back": climbed,
        "never_recovered_share": _ratio(fell - climbed, fell),
        "mean_days_to_recover": _ratio(int(tallies[f"{key}:recovery_days_total"].sum()), climbed),
        "median_days_to_recover_at_most": median,
        "days_to_recover_histogram": {
            "bin_days": RECOVERY_BIN_DAYS,
            "counts": [int(v) for v in histogram],
        },
        "note": "first fall of each citizen within the run; a citizen still at the bottom when "
        "the run ends counts as not recovered",
    }


class _Counts:
    """A confusion matrix of one outcome over some citizens, with the outcome's other counts."""

    def __init__(self, citizens, sanctioned, deserved, true_positive, wrongful, offences):
        self.citizens = int(citizens)
        self.sanctioned = int(sanctioned)
        self.deserved = int(deserved)
        self.true_positive = int(true_positive)
        self.wrongful = int(wrongful)
        self.offences = int(offences)

    @staticmethod
    def of(tallies: dict[str, np.ndarray], name: str, index: tuple) -> _Counts:
        def total(key: str) -> int:
            value = tallies[key]
            return int(value[index].sum()) if index else int(value.sum())

        return _Counts(
            total("citizens"),
            total(f"{name}:sanctioned"),
            total(f"{name}:deserved"),
            total(f"{name}:true_positive"),
            total(f"{name}:wrongful"),
            total("true_offences"),
        )

    def cells(self) -> list[int]:
        """(true positive, false positive, false negative, true negative)."""
        fp = self.sanctioned - self.true_positive
        fn = self.deserved - self.true_positive
        return [self.true_positive, fp, fn, self.citizens - self.true_positive - fp - fn]

    def metrics(self, point: list[float] | None = None) -> dict[str, Any]:
        """The counts and the RATES (`point`: the rates of these cells, if already known, as
        Python floats)."""
        tp, fp, fn, tn = self.cells()
        if point is None:
            point = rates(np.array([tp, fp, fn, tn])).tolist()
        out: dict[str, Any] = {
            "citizens": self.citizens,
            "sanctioned": self.sanctioned,
            "deserved": self.deserved,
            "wrongful": self.wrongful,
            "wrongful_share": _ratio(self.wrongful, self.sanctioned),
            "sanction_rate_per_true_offence": _ratio(self.sanctioned, self.offences),
            "true_positive": tp,
            "false_positive": fp,
            "false_negative": fn,
            "true_negative": tn,
        }
        for name, value in zip(RATES, point, strict=True):
            out[name] = None if value != value else value  # NaN: no denominator
        return out


def _breakdown(tallies, shape, outcomes, names, axes, reference, threshold, posterior, primary):
    def along(key: str) -> np.ndarray:
        return tallies[key].reshape(shape).sum(axis=axes)

    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        out[name] = {
            "citizens": int(along("citizens")[i]),
            "true_offences": int(along("true_offences")[i]),
            "offenders": int(along("offenders")[i]),
            "records": int(along("records")[i]),
            "wrongful_records": int(along("wrongful_records")[i]),
            "children_reached": int(along("children_reached")[i]),
            "fell_to_bottom_grade": int(along(f"policy:{primary}:bottom_entered")[i]),
            "climbed_back": int(along(f"policy:{primary}:bottom_recovered")[i]),
            "sanctions": {},
        }
    comparisons = []
    for outcome in outcomes:
        sums = [along(key) for key in _keys(outcome)]
        comparisons.append([_Counts(*(column[i] for column in sums)) for i in range(len(names))])
    compared = _compare(comparisons, reference, threshold, posterior, purpose="groups")
    for outcome, metrics in zip(outcomes, compared, strict=True):
        for i, (name, m) in enumerate(zip(names, metrics, strict=True)):
            if reference is not None and i != reference:
                m["in_words"] = _in_words(
                    outcome, m, metrics[reference], names[reference], posterior.confidence
                )
            elif reference is not None:
                m["in_words"] = "the reference group"
            out[name]["sanctions"][outcome] = m
    return out


def _intersections(tallies, shape, outcomes, regions, groups, reference, threshold, posterior):
    """Every (group, region, income band) stratum, compared with the reference group in the
    same region and income band."""
    rows: list[dict[str, Any]] = []
    needed = {"citizens", *(key for outcome in outcomes for key in _keys(outcome))}
    cube = {key: tallies[key].reshape(shape) for key in needed}
    comparisons = [
        [_Counts(*(cube[k][r, g, b] for k in _keys(outcome))) for g in range(len(groups))]
        for r in range(len(regions))
        for b in range(len(INCOME_BANDS))
        for outcome in outcomes
    ]
    # The comparisons of one (region, income band) are of the same citizens.
    places = [r * len(INCOME_BANDS) + b for r in range(len(regions))
              for b in range(len(INCOME_BANDS)) for _ in outcomes]  # fmt: skip
    compared = iter(
        _compare(comparisons, reference, threshold, posterior, "intersections", False, places)
    )
    for r, region in enumerate(regions):
        for b, band in enumerate(INCOME_BANDS):
            per_outcome = {outcome: next(compared) for outcome in outcomes}
            for g, group in enumerate(groups):
                rows.append(
                    {
                        "group": group,
                        "region": region,
                        "income_band": band,
                        "citizens": int(cube["citizens"][r, g, b]),
                        "sanctions": {o: per_outcome[o][g] for o in outcomes},
                    }
                )
    return rows


def _keys(outcome: str) -> tuple[str, ...]:
    return (
        "citizens",
        f"{outcome}:sanctioned",
        f"{outcome}:deserved",
        f"{outcome}:true_positive",
        f"{outcome}:wrongful",
        "true_offences",
    )


def _compare(
    comparisons: list[list[_Counts]],
    reference: int | None,
    threshold: float,
    posterior: _Posterior,
    purpose: str = "groups",
    detail: bool = True,
    places: list[int] | None = None,
) -> list[list[dict[str, Any]]]:
    """Metrics of each set of citizens (a group, a region...) of each comparison, with
    intervals, and disparities (set / the comparison's set `reference`). Comparisons of the
    same `places` (all, by default) compare the same sets of citizens (for other outcomes).

    Without `detail` (the many intersections), only the disparate impact gets an interval.
    The posterior draws of all the sets compared are taken at once (from the stream of
    `purpose`), and the intervals of all the ratios from them."""
    if not comparisons:
        return []
    width = len(comparisons[0])
    counts = [c for sets in comparisons for c in sets]
    cells = np.array([c.cells() for c in counts], dtype=np.int64)
    metrics = [c.metrics(point) for c, point in zip(counts, rates(cells).tolist(), strict=True)]
    eight = eight_counts(cells)
    x, n = fractions_of(eight)
    # Sets without citizens have no intervals; with no draws asked for, none has.
    populated = (cells.sum(axis=1) > 0) & (posterior.draws > 0)
    if detail and populated.any():
        low, high = posterior.rate_intervals(x[populated], n[populated])
        for i, lows, highs in zip(np.flatnonzero(populated), low, high, strict=True):
            bounds = [interval_bounds(lo, hi) for lo, hi in zip(lows, highs, strict=True)]
            metrics[i]["intervals"] = dict(zip(RATES, bounds, strict=True))
    out = [metrics[k : k + width] for k in range(0, len(metrics), width)]
    if reference is None:
        return out
    own_index = np.arange(len(counts))
    theirs = np.repeat(np.arange(len(comparisons)) * width + reference, width)
    refs = [dict(metrics[i]) for i in theirs[::width]]
    intervals: list = [None] * len(counts)
    pairs = np.flatnonzero(populated & populated[theirs] & (theirs != own_index))
    if pairs.size:
        rated = len(RATES) if detail else 1
        columns = np.arange(8) if detail else np.array([4, 5])
        fractions = DRAWN_FRACTIONS if detail else (((0,), (0, 1)),)
        involved = np.union1d(pairs, theirs[pairs])
        place = np.zeros(len(comparisons), dtype=np.int64) if places is None else np.array(places)
        ids = np.repeat(place, width) * width + np.tile(np.arange(width), len(comparisons))
        drawn = posterior.sample(eight[involved][:, columns], ids[involved], purpose)
        top, bottom = fractions_of(drawn, fractions)
        draws = top / bottom  # (draws, involved, rated)
        at = np.searchsorted(involved, pairs), np.searchsorted(involved, theirs[pairs])
        low, high = posterior.ratio_intervals(
            draws[:, at[0]].reshape(posterior.draws, -1),
            draws[:, at[1]].reshape(posterior.draws, -1),
            *(
                v[:, :rated].ravel()
                for v in (x[pairs], n[pairs], x[theirs[pairs]], n[theirs[pairs]])
            ),
        )
        low, high = low.reshape(-1, rated), high.reshape(-1, rated)
        for k, i in enumerate(pairs):
            intervals[i] = [interval_bounds(lo, hi) for lo, hi in zip(low[k], high[k], strict=True)]
    for i in np.flatnonzero(populated & (theirs == own_index)):
        # The reference against itself: exactly 1 wherever its rate is above 0.
        rated = len(RATES) if detail else 1
        intervals[i] = [[1.0, 1.0] if metrics[i][r] else None for r in RATES[:rated]]
    for i, m in enumerate(metrics):
        _disparities(m, refs[i // width], intervals[i], threshold, detail)
    return out


def _disparities(m, ref: dict, intervals, threshold, detail) -> None:
    """Disparities of metrics `m` against the reference group's metrics `ref` (m / ref for every
    rate, flagged outside the band [threshold, 1 / threshold]), with the intervals of the ratios
    (all of them with `detail`, else the sanction rate's; None where not drawn)."""
    band = (threshold, 1.0 / threshold)
    disparities = {}
    for k, name in enumerate(RATES):
        ratio = _ratio(m[name], ref[name])
        # Against a reference rate of zero, any rate above zero is an unbounded disparity.
        unbounded = ratio is None and ref[name] == 0 and bool(m[name])
        entry: dict[str, Any] = {
            "ratio": ratio,
            "flag": unbounded or bool(ratio is not None and not band[0] <= ratio <= band[1]),
        }
        if intervals is not None and detail:
            entry["interval"] = intervals[k]
        disparities[name] = entry
    m["disparities"] = disparities
    m["relative_rate"] = disparities["sanction_rate"]["ratio"]
    # The excess sanction rate over the reference group, split by ground truth: sanctions the
    # citizens' own records justify (more of them detected: targeting) and wrongful ones (the
    # records of errors: face misidentification, false reports, merges).
    n, n_ref = max(m["citizens"], 1), max(ref["citizens"], 1)
    rightful, rightful_ref = m["sanctioned"] - m["wrongful"], ref["sanctioned"] - ref["wrongful"]
    m["excess_sanction_rate"] = {
        "total": (m["sanctioned"] / n) - (ref["sanctioned"] / n_ref),
        "from_rightful_sanctions": rightful / n - rightful_ref / n_ref,
        "from_wrongful_sanctions": m["wrongful"] / n - ref["wrongful"] / n_ref,
    }
    # The disparate impact is the sanction rate's disparity: this group's rate / the reference's.
    impact = disparities["sanction_rate"]
    interval = intervals[0] if intervals is not None else None
    m["disparate_impact"] = impact["ratio"]
    m["four_fifths_flag"] = impact["flag"]
    m["disparate_impact_interval"] = interval
    m["four_fifths_flag_significant"] = bool(
        interval is not None
        and (interval[0] > band[1] or (interval[1] is not None and interval[1] < band[0]))
    )


VERBS = {"list": "listed", "policy": "given the low grade"}


def _in_words(
    outcome: str, m: dict[str, Any], ref: dict[str, Any], reference: str, confidence: float
) -> str | None:
    """The disparate impact said in words: "sanctioned 1.4 times as often as majority (95%
    interval: 1.1 to 1.8)"."""
    verb = VERBS.get(outcome.split(":")[0], "sanctioned") if ":" in outcome else "sanctioned"
    ratio, own, theirs = m["disparate_impact"], m["sanction_rate"], ref["sanction_rate"]
    if own is None or theirs is None:
        return None
    if theirs == 0:
        if own == 0:
            return f"no one {verb}, as in {reference}"
        return f"{verb} ({own:.2%}), while no one in {reference} is"
    if own == 0:
        return f"no one {verb}, against {theirs:.2%} of {reference}"
    times = _times(ratio)
    if times == "1":
        said = f"{verb} as often as {reference}"
    else:
        said = f"{verb} {times} times as often as {reference}"
    interval = m.get("disparate_impact_interval")
    if interval is not None:
        upper = "unbounded" if interval[1] is None else _times(interval[1])
        said += f" ({confidence:.0%} interval: {_times(interval[0])} to {upper})"
    return said


def _times(ratio: float) -> str:
    """A ratio as it is said: two significant figures, whole numbers from 10."""
    if ratio >= 10:
        return f"{ratio:,.0f}"
    return f"{float(f'{ratio:.2g}'):g}"


def _reference_group(rule: str, groups: list[str], citizens: np.ndarray, sanctioned) -> str:
    if rule == "largest":
        return groups[int(np.argmax(citizens))]
    if rule == "least-sanctioned":
        if sanctioned is None:
            return groups[int(np.argmax(citizens))]
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(citizens > 0, sanctioned / np.maximum(citizens, 1), np.inf)
        return groups[int(np.argmin(rate))]
    return rule


def _ratio(numerator, denominator) -> float | None:
    if numerator is None or denominator is None or not denominator:
        return None
    return float(numerator) / float(denominator)
