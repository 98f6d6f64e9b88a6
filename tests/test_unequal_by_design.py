"""Unequal by design: targeted surveillance and exemptions, and how the audit tells the
disparity they make from the disparity of face-identification error."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_scenario

import creditsim
from creditsim.arrays.streams import stream
from creditsim.behaviours import draw_events
from creditsim.population import build_population
from creditsim.response import detection_chance

BAN = {"name": "ban", "duration_days": 365, "trigger": {"record_behaviours": ["loiter"]}}
CAMERA = {
    "true_identification_rate": 0.9,
    "fpir_reference": 0.0,
    "reference_gallery": 1.0e7,
    "gallery_size": 1.0e7,
}


def _scenario(**extra):
    return build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 0.5}],
            "channels": {"camera": CAMERA},
            "sanctions": [BAN],
            **extra,
        }
    )


@pytest.fixture(scope="module")
def targeted():
    scenario = _scenario(targeting={"detection_multiplier_by_group": {"camera": {"b": 3.0}}})
    return creditsim.run(scenario, population=60_000, seed=51)


def test_targeted_camera_records_three_times_the_events(targeted):
    """In view: coverage 1 - exp(-0.0015 x 200) = 0.259 for a, three times that for b."""
    audit = targeted.audit()
    coverage = 1 - np.exp(-0.0015 * 200)
    for group, factor in (("a", 1.0), ("b", 3.0)):
        events = targeted.to_frame().query("group == @group")["true_civic"].sum()
        records = audit["by_group"][group]["records"]
        expected = events * coverage * factor * 0.9
        sd = np.sqrt(expected * (1 - coverage * factor * 0.9))
        assert abs(records - expected) <= 5 * sd, (group, records, expected)


def test_targeting_makes_disparity_from_deserved_sanctions(targeted):
    audit = targeted.audit()
    b = audit["by_group"]["b"]["sanctions"]["ban"]
    assert b["four_fifths_flag_significant"] is True
    # Nobody is misidentified: all of b's excess comes from rightful sanctions, caught more.
    assert audit["overall"]["sanctions"]["ban"]["wrongful"] == 0
    excess = b["excess_sanction_rate"]
    assert excess["from_wrongful_sanctions"] == pytest.approx(0.0)
    assert excess["from_rightful_sanctions"] == pytest.approx(excess["total"])
    assert b["disparities"]["true_positive_rate"]["ratio"] > 1.25
    assert b["disparities"]["true_positive_rate"]["flag"] is True


def test_face_error_makes_disparity_from_undeserved_sanctions():
    camera = {**CAMERA, "true_identification_rate": 0.1, "fpir_reference": 0.09}
    scenario = _scenario(
        channels={"camera": {**camera, "fpir_multiplier_by_group": {"a": 0.0, "b": 1.0}}}
    )
    b = creditsim.run(scenario, population=60_000, seed=52).audit()["by_group"]["b"]
    excess = b["sanctions"]["ban"]["excess_sanction_rate"]
    # Only b is misidentified: its excess is wrongful; its rightful sanctions are a's, within
    # 5 standard errors of the difference of two binomial rates.
    assert excess["from_wrongful_sanctions"] > 0
    assert excess["from_wrongful_sanctions"] == pytest.approx(
        b["sanctions"]["ban"]["wrongful"] / b["citizens"]
    )
    rate = b["sanctions"]["ban"]["sanction_rate"]
    assert abs(excess["from_rightful_sanctions"]) <= 5 * np.sqrt(2 * rate / b["citizens"])


def test_targeted_pooling():
    scenario = _scenario(targeting={"pooling_multiplier_by_group": {"a": 0.0}})
    audit = creditsim.run(scenario, population=20_000, seed=53).audit()
    assert audit["by_group"]["a"]["records"] == 0
    assert audit["by_group"]["b"]["records"] > 0


def test_targeted_groups_perceive_more_detection():
    scenario = _scenario(
        targeting={"detection_multiplier_by_group": {"camera": {"b": 2.0}}},
        response={"deterrence": {"enabled": True, "elasticity_by_category": {"civic": 0.5}}},
    )
    pop = build_population(scenario, 5_000, stream(1, 0, "population"))
    events = draw_events(scenario, pop, 365, 1, 0)
    chance = detection_chance(scenario, pop, events)
    in_b = pop.group[events.person] == 1
    coverage = 1 - np.exp(-0.0015 * 200)
    np.testing.assert_allclose(chance[~in_b], coverage * 0.9)
    np.testing.assert_allclose(chance[in_b], 2 * coverage * 0.9)


def test_exempt_records_are_dropped():
    scenario = _scenario(exemptions={"share_by_group": {"a": 0.3}})
    result = creditsim.run(scenario, population=30_000, seed=54)
    citizens = result.to_frame()
    exempt = citizens["exempt"].to_numpy()
    assert not (citizens.loc[exempt, "records"] > 0).any()
    assert not (citizens.loc[exempt, "days_ban"] > 0).any()
    assert (citizens.loc[exempt, "group"] == "a").all()
    # 30% of group a, within 5 binomial standard deviations.
    in_a = int((citizens["group"] == "a").sum())
    assert abs(exempt.sum() - 0.3 * in_a) <= 5 * np.sqrt(in_a * 0.3 * 0.7)
    spared = result.audit()["overall"]["exemptions"]["sanctions"]["ban"]
    assert spared["exempt_sanctioned"] == 0 and spared["exempt_deserved"] > 0
    assert spared["exempt_true_positive_rate"] == 0.0
    assert spared["others_true_positive_rate"] > 0.1


def test_waived_sanctions_keep_the_records():
    scenario = _scenario(exemptions={"share": 0.2, "records_dropped": False})
    citizens = creditsim.run(scenario, population=20_000, seed=55).to_frame()
    exempt = citizens["exempt"].to_numpy()
    assert (citizens.loc[exempt, "records"] > 0).any()
    assert not (citizens.loc[exempt, "days_ban"] > 0).any()
    assert (citizens.loc[~exempt, "days_ban"] > 0).any()
