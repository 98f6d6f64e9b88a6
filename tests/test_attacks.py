"""Attacks on the system: an insider, coordinated false reports, an open database, a score swap."""

from __future__ import annotations

import pytest
from conftest import assert_close_count, binomial_sd, build_scenario, poisson_sd

import creditsim
from creditsim.scenario import ScenarioError, load_scenario

CAMERA = {
    "true_identification_rate": 0.9,
    "fpir_reference": 0.0,
    "reference_gallery": 1.0e7,
    "gallery_size": 1.0e7,
}
BOTTOM_BAN = {"name": "ban", "duration_days": 365, "trigger": {"grade_at_or_below": "C"}}
POPULATION = 20_000


def _run(attacks: dict, seed: int, **extra):
    scenario = build_scenario(
        {
            "behaviours": [
                {"name": "loiter", "rate_per_year": 0.3, "points": -600},
                {
                    "name": "volunteer",
                    "category": "merit",
                    "offence": False,
                    "rate_per_year": 1.0,
                    "channels": ["registry"],
                    "points": 10,
                },
            ],
            "channels": {"camera": CAMERA},
            "sanctions": [BOTTOM_BAN],
            "attacks": attacks,
            **extra,
        }
    )
    return creditsim.run(scenario, population=POPULATION, seed=seed)


def test_insider_changes_the_scores_of_a_share_of_one_group():
    result = _run({"insider": {"enabled": True, "day": 100, "share": 0.02, "target_group": "b",
                               "points": -600}}, seed=61)  # fmt: skip
    audit = result.audit()
    citizens = result.to_frame()
    adults_b = int(((citizens["group"] == "b") & (citizens["age_band"] != "child")).sum())
    made = audit["overall"]["attacks"]["insider_records"]
    assert_close_count(made, adults_b * 0.02, binomial_sd(adults_b, 0.02))
    # Each victim falls to the bottom grade and is banned, wrongfully.
    by_cause = audit["overall"]["sanctions"]["ban"]["wrongful_by_cause"]
    assert 0.8 * made <= by_cause["insider"] <= made
    assert audit["by_group"]["a"]["sanctions"]["ban"]["wrongful"] == 0


def test_coordinated_false_reports_against_one_group():
    result = _run({"false_reports": {"enabled": True, "target_group": "b",
                                     "reports_per_target_per_year": 0.2,
                                     "behaviours": ["loiter"]}}, seed=62)  # fmt: skip
    audit = result.audit()
    citizens = result.to_frame()
    adults_b = int(((citizens["group"] == "b") & (citizens["age_band"] != "child")).sum())
    made = audit["overall"]["attacks"]["coordinated_false_reports"]
    assert_close_count(made, adults_b * 0.2, poisson_sd(adults_b * 0.2))
    ban = audit["by_group"]["b"]["sanctions"]["ban"]
    assert ban["four_fifths_flag_significant"] is True
    assert audit["overall"]["sanctions"]["ban"]["wrongful_by_cause"]["coordinated_false_report"] > 0


def test_open_database_exposes_a_share_of_the_records_made_so_far():
    result = _run({"leak": {"enabled": True, "day": 180, "share_of_records": 0.5}}, seed=63)
    leak = result.audit()["overall"]["attacks"]["leak"]
    weekly = result.timeseries()
    # Records up to day 180 (the weekly series counts whole weeks: days 0-181 is 26 weeks).
    up_to = int(weekly.loc[weekly["day"] <= 175, "records"].sum())
    assert up_to > 1000
    assert leak["records_exposed"] <= int(weekly.loc[weekly["day"] <= 182, "records"].sum())
    assert_close_count(leak["records_exposed"], up_to * 0.5, binomial_sd(up_to, 0.5) + 0.02 * up_to)
    assert 0 < leak["citizens_exposed"] <= leak["records_exposed"]


def test_score_swap_sends_the_top_to_the_bottom():
    """On day 200 the top 0.5% (100 citizens, high on merits) take the scores of the bottom
    0.5% (all at 400 after a -600 record, grade C): each of them is banned, wrongfully, unless
    a record of their own after the swap would have banned them anyway (about 3 in 100)."""
    result = _run({"score_swap": {"enabled": True, "day": 200, "share": 0.005}}, seed=64)
    ban = result.audit()["overall"]["sanctions"]["ban"]
    assert 90 <= ban["wrongful_by_cause"]["score_swap"] <= 100
    assert ban["wrongful"] == ban["wrongful_by_cause"]["score_swap"]
    plain = _run({}, seed=64).audit()["overall"]["sanctions"]["ban"]
    assert plain["wrongful"] == 0


def test_attack_settings_are_validated():
    with pytest.raises(ScenarioError, match="attacks.insider.target_group"):
        load_scenario("national-2018", {"attacks": {"insider": {"target_group": "nobody"}}})
    with pytest.raises(ScenarioError, match="attacks.false_reports.behaviours"):
        load_scenario("national-2018", {"attacks": {"false_reports": {"enabled": True}}})
