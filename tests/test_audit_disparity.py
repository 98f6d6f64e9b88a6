"""The disparity audit at Aequitas's level, with ground truth: confusion-matrix rates, disparities
(group / reference, as Aequitas states them) against a chosen reference group, intersections, and
Jeffreys intervals on every rate and ratio."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_scenario, face_error_scenario

import creditsim
from creditsim.audit.disparity import RATES, rates
from creditsim.scenario import ScenarioError, load_scenario


def test_rates_from_a_confusion_matrix():
    # 30 true positives, 10 false positives, 20 false negatives, 940 true negatives.
    value = dict(zip(RATES, rates(np.array([30, 10, 20, 940])), strict=True))
    assert value["sanction_rate"] == pytest.approx(40 / 1000)
    assert value["prevalence"] == pytest.approx(50 / 1000)
    assert value["precision"] == pytest.approx(30 / 40)
    assert value["false_discovery_rate"] == pytest.approx(10 / 40)
    assert value["false_omission_rate"] == pytest.approx(20 / 960)
    assert value["true_positive_rate"] == pytest.approx(30 / 50)
    assert value["true_negative_rate"] == pytest.approx(940 / 950)
    assert value["false_positive_rate"] == pytest.approx(10 / 950)
    assert value["false_negative_rate"] == pytest.approx(20 / 50)
    # No one sanctioned: precision has no denominator.
    assert np.isnan(dict(zip(RATES, rates(np.array([0, 0, 5, 95])), strict=True))["precision"])


@pytest.fixture(scope="module")
def unequal():
    return creditsim.run(face_error_scenario(1.0), population=60_000, seed=31).audit()


def test_a_real_disparity_is_significant(unequal):
    b = unequal["by_group"]["b"]["sanctions"]["ban"]
    low, high = b["disparate_impact_interval"]
    assert low <= b["disparate_impact"] <= high
    # b is sanctioned more often than a, beyond doubt: the whole interval is above 1.25.
    assert low > 1.25
    assert b["four_fifths_flag_significant"] is True
    assert "b:ban" in unequal["flagged_significant"]
    # Every rate has an interval around it, and every disparity is a ratio to the reference.
    a = unequal["by_group"]["a"]["sanctions"]["ban"]
    for name in RATES:
        interval = b["intervals"][name]
        if b[name] is not None and interval is not None:
            assert interval[0] <= b[name] + 1e-12 and b[name] <= interval[1] + 1e-12, name
        if b[name] is not None and a[name]:
            assert b["disparities"][name]["ratio"] == pytest.approx(b[name] / a[name])
    # a has no false positives at all: b's are an unbounded disparity, flagged, its interval
    # bounded below (well above 1) and not above; b's precision (a third of its bans are of
    # innocents) is outside the band too.
    assert a["false_positive"] == 0 and b["false_positive"] > 0
    fpr = b["disparities"]["false_positive_rate"]
    assert fpr["ratio"] is None and fpr["flag"] is True
    assert fpr["interval"][0] > 1.25 and fpr["interval"][1] is None
    assert b["disparities"]["precision"]["ratio"] < 0.8 and b["disparities"]["precision"]["flag"]
    assert b["disparities"]["sanction_rate"]["ratio"] == pytest.approx(b["relative_rate"])


def test_noise_alone_is_not_significant():
    """Groups alike in every way: whatever a point estimate says, no interval excludes parity.
    (A 95 % interval misses parity at about one seed in twenty; this seed is not one of them.)"""
    audit = creditsim.run(face_error_scenario(0.0), population=20_000, seed=31).audit()
    assert audit["flagged_significant"] == []
    b = audit["by_group"]["b"]["sanctions"]["ban"]
    low, high = b["disparate_impact_interval"]
    assert low < 1.0 < high


def test_reference_group_rules():
    scenario = face_error_scenario(1.0, reference_group="least-sanctioned")
    audit = creditsim.run(scenario, population=20_000, seed=33).audit()
    assert audit["reference_group"] == "a"
    assert audit["reference_rule"] == "least-sanctioned"
    named = creditsim.run(
        face_error_scenario(1.0, reference_group="b"), population=20_000, seed=33
    ).audit()
    assert named["reference_group"] == "b"
    # Against b, a is sanctioned far less: a ratio below the threshold, flagged.
    a = named["by_group"]["a"]["sanctions"]["ban"]
    assert a["disparate_impact"] < 0.8 and a["four_fifths_flag"] is True
    assert a["in_words"].startswith("sanctioned 0.") and "times as often as b" in a["in_words"]
    with pytest.raises(ScenarioError, match="allowed: largest, least-sanctioned"):
        load_scenario("national-2018", {"audit": {"reference_group": "tallest"}})


def test_intersections_add_up_to_the_groups(unequal):
    rows = unequal["intersections"]
    assert len(rows) == 1 * 2 * 3  # one region, two groups, three income bands
    for group in ("a", "b"):
        mine = [r for r in rows if r["group"] == group]
        assert sum(r["citizens"] for r in mine) == unequal["by_group"][group]["citizens"]
        sanctioned = sum(r["sanctions"]["ban"]["sanctioned"] for r in mine)
        assert sanctioned == unequal["by_group"][group]["sanctions"]["ban"]["sanctioned"]
    by_band = unequal["by_income_band"]
    assert sum(v["citizens"] for v in by_band.values()) == unequal["overall"]["citizens"]
    # Within each stratum, b is compared with a of the same region and income band.
    for row in rows:
        if row["group"] == "a" and row["sanctions"]["ban"]["sanctioned"]:
            assert row["sanctions"]["ban"]["disparate_impact"] == pytest.approx(1.0)


def test_bootstrap_can_be_switched_off():
    audit = creditsim.run(
        face_error_scenario(1.0, bootstrap_replicates=0), population=10_000, seed=34
    ).audit()
    b = audit["by_group"]["b"]["sanctions"]["ban"]
    assert "intervals" not in b
    assert b["disparate_impact_interval"] is None
    assert audit["flagged_significant"] == []


def test_wrongful_sanctions_by_cause(unequal):
    """Only the face channel errs here, so every wrongful ban is a face misidentification."""
    ban = unequal["overall"]["sanctions"]["ban"]
    assert ban["wrongful"] > 0
    assert ban["wrongful_by_cause"]["face_misidentification"] == ban["wrongful"]
    others = {k: v for k, v in ban["wrongful_by_cause"].items() if k != "face_misidentification"}
    assert set(others.values()) == {0}


def test_who_falls_to_the_bottom_and_climbs_back():
    """One record takes a citizen from 1000 to 400 (grade C, the bottom); deductions are
    restored after exactly 100 days, so a citizen with a single record climbs back in 100."""
    scenario = build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 0.4, "points": -600}],
            "policy": {"restore_after_days": 100},
        }
    )
    result = creditsim.run(scenario, population=20_000, seed=35)
    mobility = result.audit()["overall"]["mobility"]
    citizens = result.to_frame()
    assert mobility["bottom_grade"] == "C"
    assert mobility["fell_to_bottom_grade"] == int((citizens["records"] > 0).sum())
    assert 0 < mobility["climbed_back"] < mobility["fell_to_bottom_grade"]
    counts = mobility["days_to_recover_histogram"]["counts"]
    assert sum(counts) == mobility["climbed_back"]
    assert counts[0:3] == [0, 0, 0]  # nobody climbs back in under 90 days
    assert counts[3] >= 0.8 * mobility["climbed_back"]  # most in exactly 100 days
    assert mobility["mean_days_to_recover"] >= 100
    # Those still at the bottom at the end are exactly the citizens whose score is below 500.
    still_down = mobility["fell_to_bottom_grade"] - mobility["climbed_back"]
    assert still_down <= int((citizens["score_points"] < 500).sum())
    transitions = np.array(mobility["transitions_start_to_end"])
    assert transitions.sum() == 20_000
    assert transitions[0].sum() == 20_000  # everyone starts at A
    assert transitions[0, 2] == int((citizens["grade_points"] == "C").sum())


def test_a_small_group_with_a_few_sanctions_is_not_read_as_bias():
    """Groups alike by design, one of them tiny: a few sanctions in it give a disparate impact
    far from 1 by chance, but its interval is wide enough to hold parity, and nothing is
    flagged as significant."""
    scenario = build_scenario(
        {
            "groups": [{"name": "a", "share": 0.995}, {"name": "b", "share": 0.005}],
            "behaviours": [{"name": "loiter", "rate_per_year": 0.02}],
            "sanctions": [
                {"name": "ban", "duration_days": 30, "trigger": {"record_behaviours": ["loiter"]}}
            ],
        }
    )
    audit = creditsim.run(scenario, population=40_000, seed=5).audit()
    b = audit["by_group"]["b"]["sanctions"]["ban"]
    assert 0 < b["sanctioned"] <= 10
    low, high = b["disparate_impact_interval"]
    assert low < 1.0 < high
    assert not b["four_fifths_flag_significant"]
    assert audit["flagged_significant"] == []
