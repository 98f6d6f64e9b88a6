"""Face identification across NIST's range: one 1:N search with three competing outcomes (a wrong
adult, the right citizen, nobody), so that any group multiplier gives valid chances and the
right-match rate falls where the wrong-match rate rises."""

from __future__ import annotations

import numpy as np
import pytest

import creditsim
from creditsim.channels.cameras import fpir_by_group
from creditsim.scenario import load_scenario
from creditsim.scenario.schema import Scenario, fpir
from creditsim.web.knobs import Knobs, scenario_for


def _with_multipliers(multipliers: dict[str, float]) -> Scenario:
    base = load_scenario("national-2018")
    change = {"channels": {"camera": {"fpir_multiplier_by_group": multipliers}}}
    return load_scenario(base, change)


@pytest.mark.parametrize("multiplier", [12.5, 50.0, 100.0])
def test_multipliers_up_to_100_are_accepted(multiplier):
    scenario = _with_multipliers({"minority-b": multiplier})
    wrong = fpir_by_group(scenario)
    right = scenario.channels.camera.true_identification_rate * (1.0 - wrong)
    assert ((wrong >= 0) & (wrong < 1) & (right > 0)).all()
    assert (wrong + right <= 1.0).all()


def test_the_dashboard_knob_accepts_100():
    scenario, _ = scenario_for(
        "national-2018", Knobs(fpir_multiplier_by_group={"minority-b": 100.0}), {}
    )
    assert scenario.channels.camera.fpir_multiplier_by_group["minority-b"] == 100.0


def test_right_matches_fall_as_wrong_matches_rise():
    camera = load_scenario("national-2018").channels.camera
    multipliers = np.array([0.0, 1.0, 10.0, 30.0, 100.0])
    wrong = np.array([fpir(camera, m) for m in multipliers])
    right = camera.true_identification_rate * (1.0 - wrong)
    assert (np.diff(wrong) > 0).all() and (np.diff(right) < 0).all()
    assert right[0] == camera.true_identification_rate  # no wrong candidate: TIR itself
    assert wrong[-1] == pytest.approx(0.558, abs=0.001) and right[-1] == pytest.approx(
        0.398, abs=0.001
    )


def test_gallery_growth_is_kept():
    camera = load_scenario("national-2018").channels.camera
    small = camera.model_copy(update={"gallery_size": camera.reference_gallery})
    assert fpir(small, 1.0) == pytest.approx(camera.fpir_reference)
    assert fpir(camera, 1.0) > fpir(small, 1.0)
    bigger = camera.model_copy(update={"gallery_size": 10 * camera.gallery_size})
    assert fpir(bigger, 1.0) > fpir(camera, 1.0)


def test_a_run_with_multiplier_100_misidentifies_that_group_most():
    scenario = _with_multipliers({"minority-b": 100.0})
    result = creditsim.run(scenario, population=20_000, seed=2, catalogue=False)
    frame = result.to_frame()
    assert frame["wrongful_records"].groupby(frame["group"]).mean().idxmax() == "minority-b"
