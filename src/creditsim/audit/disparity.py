"""The audit: wrongful sanctions, and disparity by group, region, income band and their
intersections, from additive tallies.

Ground truth is known here, so the confusion matrix is exact: a citizen "deserved" a sanction when
the policy, fed every true event on its true actor, would have imposed it. A sanction is wrongful
when the citizen's own correctly attributed records would not have triggered it.

Per group the audit gives what Aequitas gives (the confusion-matrix rates and their disparities
against a reference group, flagged outside the band [threshold, 1 / threshold]), with the ground
truth Aequitas never has, and a bootstrap confidence interval on every rate and ratio, so that a
small group's noise is not read as bias. Sanctions are adverse outcomes, so the disparate-impact
ratio is the reference group's sanction rate over the group's: below the four-fifths threshold
(0.8) the group is sanctioned more than 1.25 times as often, and is flagged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from creditsim.channels.records import CAUSES
from creditsim.engine.shard import RECOVERY_BIN_DAYS
from creditsim.engine.streams import stream
from creditsim.scenario.schema import INCOME_BANDS, Scenario

POPULATION = 1_400_000_000  # reference: population
RATES = (
    "sanction_rate",
    "prevalence",
    "precision",
    "false_discovery_rate",
    "false_omission_rate",
    "true_positive_rate",
    "true_negative_rate",
    "false_positive_rate",
    "false_negative_rate",
)


def build_audit(scenario: Scenario, tallies: dict[str, np.ndarray], seed: int = 0) -> dict:
    regions = [r.name for r in scenario.regions]
    groups = [g.name for g in scenario.groups]
    shape = (len(regions), len(groups), len(INCOME_BANDS))
    sanctions = [s.name for s in scenario.sanctions]
    outcomes = [*sanctions, "any"] if sanctions else []
    # Lists and each score policy's low grade are outcomes too: audited like sanctions.
    outcomes += [f"list:{p.name}" for p in scenario.list_policies]
    outcomes += [f"policy:{p.name}" for p in scenario.score_policies]
    settings = scenario.audit
    threshold = settings.four_fifths_threshold

    def strata(key: str) -> np.ndarray:
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
        if ":" in name:
            continue
        counts = _Counts.of(tallies, name, ())
        entry: dict[str, Any] = {**counts.metrics()}
        if f"{name}:denied_purchases" in tallies:
            denied = int(tallies[f"{name}:denied_purchases"].sum())
            entry["denied_purchases"] = denied
            entry["denied_purchases_at_1_4_billion"] = round(denied * scale)
        entry["wrongful_by_cause"] = _wrongful_by_cause(tallies, name)
        if name != "any":
            entry["appeals"] = _appeals(
                tallies, name, "sanction intervals (one per citizen unless a sanction ended and "
                "began again)",
            )  # fmt: skip
            entry["person_days"] = int(tallies[f"{name}:days"].sum())
            entry["sanctioned_at_1_4_billion"] = round(counts.sanctioned * scale)
        per_sanction[name] = entry
    overall["sanctions"] = per_sanction
    overall["lists"] = {p.name: _list_entry(p.name, tallies, scale) for p in scenario.list_policies}
    overall["policies"] = {
        p.name: _policy_entry(scenario, p, tallies) for p in scenario.score_policies
    }
    overall["side_by_side"] = _side_by_side(scenario, tallies, shape, groups)
    overall["mobility"] = overall["policies"][scenario.policy.name]["mobility"]
    overall["exemptions"] = _exemptions(tallies, outcomes, citizens)
    overall["behaviour_change"] = _behaviour_change(scenario, tallies)
    exposed_records, exposed_citizens = (int(v) for v in tallies["leak"])
    overall["attacks"] = {
        "insider_records": int(tallies["records_by_cause"][CAUSES.index("insider")]),
        "coordinated_false_reports": int(
            tallies["records_by_cause"][CAUSES.index("coordinated_false_report")]
        ),
        "leak": {"records_exposed": exposed_records, "citizens_exposed": exposed_citizens},
    }

    by_group_citizens = strata("citizens").sum(axis=(0, 2))
    sanctioned_any = strata("any:sanctioned").sum(axis=(0, 2)) if outcomes else None
    reference = _reference_group(
        settings.reference_group, groups, by_group_citizens, sanctioned_any
    )
    bootstrap = _Bootstrap(settings.bootstrap_replicates, settings.confidence, seed)

    def breakdown(names: list[str], axes: tuple[int, ...], reference_index: int | None):
        return _breakdown(
            tallies, shape, outcomes, names, axes, reference_index, threshold, bootstrap,
            scenario.policy.name,
        )  # fmt: skip

    by_group = breakdown(groups, (0, 2), groups.index(reference))
    by_region = breakdown(regions, (1, 2), None)
    by_income = breakdown(list(INCOME_BANDS), (0, 1), None)
    intersections = _intersections(
        tallies, shape, outcomes, regions, groups, groups.index(reference), threshold, bootstrap
    )
    flagged, significant = set(), set()
    for group, metrics in by_group.items():
        for name, m in metrics["sanctions"].items():
            if m.get("four_fifths_flag"):
                flagged.add(f"{group}:{name}")
            if m.get("four_fifths_flag_significant"):
                significant.add(f"{group}:{name}")
    return {
        "scenario": scenario.name,
        "system_enabled": scenario.system_enabled,
        "reference_group": reference,
        "reference_rule": settings.reference_group,
        "four_fifths_threshold": threshold,
        "disparity_band": [threshold, 1.0 / threshold],
        "confidence": settings.confidence,
        "bootstrap_replicates": settings.bootstrap_replicates,
        "overall": overall,
        "by_group": by_group,
        "by_region": by_region,
        "by_income_band": by_income,
        "intersections": intersections,
        "flagged": sorted(flagged),
        "flagged_significant": sorted(significant),
        "definitions": {
            "wrongful": "sanctioned, but the citizen's own correctly attributed records would "
            "not have triggered the sanction",
            "deserved": "the policy would have imposed the sanction had every true event been "
            "recorded against its true actor (the ground truth of the confusion matrix)",
            "disparate_impact": "reference group's sanction rate / this group's sanction rate; "
            "below the threshold the group is flagged",
            "disparities": "this group's rate / the reference group's rate, flagged outside "
            "the disparity band",
            "sanction_rate_per_true_offence": "citizens sanctioned / true offences committed",
            "confidence intervals": "percentile bootstrap: citizens resampled within each group "
            "(multinomial over the four confusion cells), the reference group independently; "
            "outcomes with the same counts in a group (sanctions with the same trigger and term) "
            "share the resamples, and so their intervals",
            "intersections": "group x region x income band; disparities against the reference "
            "group within the same region and income band",
            "flagged_significant": "the whole confidence interval of the disparate-impact ratio "
            "lies below the threshold",
        },
    }


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

    def cells(self) -> np.ndarray:
        """(true positive, false positive, false negative, true negative)."""
        fp = self.sanctioned - self.true_positive
        fn = self.deserved - self.true_positive
        return np.array([self.true_positive, fp, fn, self.citizens - self.true_positive - fp - fn])

    def metrics(self, point: np.ndarray | None = None) -> dict[str, Any]:
        """The counts and the RATES (`point`: the rates of these cells, if already known)."""
        tp, fp, fn, tn = (int(v) for v in self.cells())
        if point is None:
            point = rates(np.array([tp, fp, fn, tn]))
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
            out[name] = None if np.isnan(value) else float(value)
        return out


# Each of the RATES as a fraction of sums of the confusion cells (tp, fp, fn, tn: 0 to 3).
FRACTIONS = (
    ((0, 1), (0, 1, 2, 3)),  # sanction rate: (tp + fp) / n
    ((0, 2), (0, 1, 2, 3)),  # prevalence: (tp + fn) / n
    ((0,), (0, 1)),  # precision: tp / (tp + fp)
    ((1,), (0, 1)),  # false discovery rate: fp / (tp + fp)
    ((2,), (2, 3)),  # false omission rate: fn / (fn + tn)
    ((0,), (0, 2)),  # true positive rate: tp / (tp + fn)
    ((3,), (3, 1)),  # true negative rate: tn / (tn + fp)
    ((1,), (1, 3)),  # false positive rate: fp / (fp + tn)
    ((2,), (2, 0)),  # false negative rate: fn / (fn + tp)
)


def rates(cells: np.ndarray, count: int = len(RATES)) -> np.ndarray:
    """The RATES (the first `count` of them) from confusion cells (..., 4): NaN where a rate has
    no denominator. Each rate is stored whole (the last axis is a view across them), so one
    rate is cheap to take."""
    cells = np.asarray(cells, dtype=np.float64)

    def total(which: tuple[int, ...]) -> np.ndarray:
        return sum((cells[..., i] for i in which[1:]), cells[..., which[0]])

    with np.errstate(divide="ignore", invalid="ignore"):
        planes = np.stack([total(top) / total(bottom) for top, bottom in FRACTIONS[:count]])
    return np.moveaxis(planes, 0, -1)


class _Bootstrap:
    """Percentile intervals from multinomial resamples of confusion cells."""

    def __init__(self, replicates: int, confidence: float, seed: int) -> None:
        self.replicates = replicates
        self.tails = [50 * (1 - confidence), 100 - 50 * (1 - confidence)]
        self.rng = stream(seed, 0, "audit:bootstrap")

    def resample(self, cells: np.ndarray, citizens: np.ndarray) -> np.ndarray:
        """Resamples of confusion cells (sets, 4), none empty: (replicates, sets, 4). Sets of
        the same `citizens` (an id per set) with the same cells, such as two sanctions with the
        same trigger and term, share their resamples: they get the same intervals."""
        unique, inverse = _distinct(cells, citizens)
        n = unique.sum(axis=1)
        draws = self.rng.multinomial(
            n[:, None], (unique / n[:, None])[:, None, :], size=(unique.shape[0], self.replicates)
        )
        return draws.transpose(1, 0, 2)[:, inverse]

    def resample_sanctioned(self, cells: np.ndarray, citizens: np.ndarray) -> np.ndarray:
        """Resamples of the number sanctioned only, as cells (sanctioned, 0, 0, the rest);
        shared as `resample` shares them."""
        total = cells.sum(axis=1)
        pairs = np.stack([total, cells[:, 0] + cells[:, 1]], axis=1)
        unique, inverse = _distinct(pairs, citizens)
        n, p = unique[:, 0], unique[:, 1] / unique[:, 0]
        drawn = self.rng.binomial(n[:, None], p[:, None], size=(n.shape[0], self.replicates)).T
        sanctioned = drawn[:, inverse]
        zeros = np.zeros_like(sanctioned)
        return np.stack([sanctioned, zeros, zeros, total - sanctioned], axis=-1)

    def intervals(self, values: np.ndarray) -> list[list[float | None] | None]:
        """An interval per column of (replicates, columns); None for a column whose value is
        undefined (0/0) in most replicates. An infinite ratio (a group with no sanction in a
        resample: no disparity against it, however large) is a value, not a gap: dropping it
        would pull the interval down and read a small group's noise as bias. An unbounded end
        is given as None; a ratio infinite in most resamples has no interval (None)."""
        defined = ~np.isnan(values)
        count = defined.sum(axis=0)
        ordered = np.sort(values, axis=0)  # NaN last, infinities just before them
        bounds = []
        for tail in self.tails:
            # Linear interpolation between order statistics, over the defined values only.
            position = tail / 100 * np.maximum(count - 1, 0)
            below = np.floor(position).astype(np.int64)
            above = np.minimum(below + 1, np.maximum(count - 1, 0))
            low = np.take_along_axis(ordered, below[None, :], axis=0)[0]
            high = np.take_along_axis(ordered, above[None, :], axis=0)[0]
            with np.errstate(invalid="ignore"):
                between = low + (position - below) * (high - low)
            bounds.append(np.where(high == low, low, between))
        enough = count >= max(10, self.replicates // 2)
        enough &= np.isfinite(bounds[0])
        return [
            [float(bounds[0][k]), _finite(bounds[1][k])] if enough[k] else None
            for k in range(values.shape[1])
        ]


def _distinct(rows: np.ndarray, citizens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (citizens, row) pairs' rows, and where each row's pair is among them."""
    keyed = np.column_stack([citizens, rows])
    unique, inverse = np.unique(keyed, axis=0, return_inverse=True)
    return unique[:, 1:], inverse.reshape(-1)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _breakdown(tallies, shape, outcomes, names, axes, reference, threshold, bootstrap, primary):
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
    compared = _compare(comparisons, reference, threshold, bootstrap)
    for outcome, metrics in zip(outcomes, compared, strict=True):
        for name, m in zip(names, metrics, strict=True):
            out[name]["sanctions"][outcome] = m
    return out


def _intersections(tallies, shape, outcomes, regions, groups, reference, threshold, bootstrap):
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
        _compare(comparisons, reference, threshold, bootstrap, detail=False, places=places)
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
    bootstrap,
    detail: bool = True,
    places: list[int] | None = None,
) -> list[list[dict[str, Any]]]:
    """Metrics of each set of citizens (a group, a region...) of each comparison, with
    intervals, and disparities against the comparison's set `reference`. Comparisons of the
    same `places` (all, by default) compare the same sets of citizens (for other outcomes).

    Without `detail` (the many intersections), only the disparate impact gets an interval.
    Resamples are drawn comparison by comparison, set by set; the intervals of all are then
    taken at once."""
    if not comparisons:
        return []
    width = len(comparisons[0])
    counts = [c for sets in comparisons for c in sets]
    cells = np.stack([c.cells() for c in counts])
    metrics = [c.metrics(point) for c, point in zip(counts, rates(cells), strict=True)]
    # Sets without citizens are not resampled: `column` is each set's place among the drawn.
    drawn = np.flatnonzero(cells.sum(axis=1) > 0) if bootstrap.replicates else np.zeros(0, int)
    column = np.full(len(counts), -1)
    column[drawn] = np.arange(drawn.shape[0])
    place = np.zeros(len(comparisons), dtype=np.int64) if places is None else np.array(places)
    citizens = np.repeat(place, width) * width + np.tile(np.arange(width), len(comparisons))
    sampled = None  # (replicates, sets drawn, rates)
    if drawn.size and detail:
        sampled = rates(bootstrap.resample(cells[drawn], citizens[drawn]))
        for i, bounds in zip(drawn, _per_set(bootstrap, sampled), strict=True):
            metrics[i]["intervals"] = dict(zip(RATES, bounds, strict=True))
    elif drawn.size:  # the sanction rate only
        sampled = rates(bootstrap.resample_sanctioned(cells[drawn], citizens[drawn]), 1)
    out = [metrics[k : k + width] for k in range(0, len(metrics), width)]
    if reference is None:
        return out
    theirs = np.repeat(np.arange(len(comparisons)) * width + reference, width)
    refs = [dict(metrics[i]) for i in theirs[::width]]
    ratio_intervals: list = [None] * len(counts)
    impact_intervals: list = [None] * len(counts)
    paired = np.flatnonzero((column >= 0) & (column[theirs] >= 0))
    if sampled is not None and paired.size:
        own, ref = column[paired], column[theirs[paired]]
        with np.errstate(divide="ignore", invalid="ignore"):
            if detail:
                ratios = _per_set(bootstrap, sampled[:, own] / sampled[:, ref])
                for i, bounds in zip(paired, ratios, strict=True):
                    ratio_intervals[i] = bounds
            sanction_rate = sampled[:, :, 0]
            impact = bootstrap.intervals(sanction_rate[:, ref] / sanction_rate[:, own])
        for i, bounds in zip(paired, impact, strict=True):
            impact_intervals[i] = bounds
    for i, m in enumerate(metrics):
        _disparities(m, refs[i // width], ratio_intervals[i], impact_intervals[i], threshold,
                     detail)  # fmt: skip
    return out


def _per_set(bootstrap, values: np.ndarray) -> list[list]:
    """Intervals of (replicates, sets, rates) values: per set, a list over the rates."""
    flat = bootstrap.intervals(values.reshape(values.shape[0], -1))
    width = values.shape[2]
    return [flat[k : k + width] for k in range(0, len(flat), width)]


def _disparities(m, ref: dict, ratio_intervals, impact_interval, threshold, detail) -> None:
    """Disparities of metrics `m` against the reference group's metrics `ref`, with the
    bootstrap intervals of the ratios (None where not resampled)."""
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
        if ratio_intervals is not None and detail:
            entry["interval"] = ratio_intervals[k]
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
    impact = _ratio(ref["sanction_rate"], m["sanction_rate"])
    m["disparate_impact"] = impact
    m["four_fifths_flag"] = bool(impact is not None and impact < threshold)
    m["disparate_impact_interval"] = impact_interval
    m["four_fifths_flag_significant"] = bool(
        impact_interval is not None
        and impact_interval[1] is not None
        and impact_interval[1] < threshold
    )


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
