"""Appeals and redress: who appeals, how often it succeeds, when, and the insincere apology."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close_count, binomial_sd, build_scenario

import creditsim
from creditsim.intervals import Intervals
from creditsim.sanctions import appeal
from creditsim.scenario import ScenarioError, load_scenario

BAN = {"name": "ban", "duration_days": 365, "trigger": {"record_behaviours": ["loiter"]}}
EVERYONE = {"low": 1.0, "middle": 1.0, "high": 1.0}


def _scenario(**appeals):
    return build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 0.5}],
            "channels": {
                "camera": {
                    "true_identification_rate": 0.5,
                    "fpir_reference": 0.05,
                    "reference_gallery": 1.0e7,
                    "gallery_size": 1.0e7,
                }
            },
            "sanctions": [BAN],
            "appeals": {"enabled": True, "share_by_income": EVERYONE, **appeals},
        }
    )


def test_an_upheld_appeal_ends_the_sanction_when_decided():
    scenario = _scenario(success_rate_wrongful=1.0, success_rate_rightful=1.0, delay_days=30)
    intervals = Intervals(
        person=np.array([0, 1, 2], dtype=np.int32),
        start=np.array([10, 340, 100], dtype=np.int32),
        end=np.array([375, 705, 120], dtype=np.int32),
    )
    outcome = appeal(
        scenario, "ban", True, intervals, np.zeros(0, dtype=np.int64),
        np.zeros(3, dtype=np.int8), np.zeros(3, dtype=np.int8), 365, 1, 0,
    )  # fmt: skip
    assert outcome.filed.all() and outcome.upheld.all()
    # Decided on day 40: lifted. Decided on day 370, after the run: not lifted within it.
    # Decided on day 130, after the sanction had already ended on day 120: nothing to lift.
    assert outcome.lifted.tolist() == [True, False, False]
    assert outcome.intervals.end.tolist() == [40, 705, 120]
    assert outcome.intervals.start.tolist() == [10, 340, 100]


def test_success_rate_is_the_scenario_rate():
    result = creditsim.run(
        _scenario(success_rate_wrongful=0.5, success_rate_rightful=0.5),
        population=40_000,
        seed=41,
    )
    appeals = result.audit()["overall"]["sanctions"]["ban"]["appeals"]
    assert appeals["filed"] > 1000
    # Every sanction is appealed; half succeed, within 5 binomial standard deviations.
    assert_close_count(
        appeals["upheld"], appeals["filed"] * 0.5, binomial_sd(appeals["filed"], 0.5)
    )
    assert appeals["ruled_insincere"] == 0


def test_an_insincere_apology_keeps_the_sanction():
    result = creditsim.run(
        _scenario(
            success_rate_wrongful=1.0, success_rate_rightful=1.0, insincere_apology_share=1.0
        ),
        population=20_000,
        seed=42,
    )
    appeals = result.audit()["overall"]["sanctions"]["ban"]["appeals"]
    assert appeals["upheld"] == appeals["filed"] > 0
    assert appeals["ruled_insincere"] == appeals["upheld"]
    assert appeals["lifted"] == 0


def test_courts_lift_wrongful_sanctions_only_when_only_those_succeed():
    result = creditsim.run(
        _scenario(success_rate_wrongful=1.0, success_rate_rightful=0.0, delay_days=10),
        population=40_000,
        seed=43,
    )
    ban = result.audit()["overall"]["sanctions"]["ban"]
    assert ban["wrongful"] > 0
    assert ban["appeals"]["lifted"] == ban["appeals"]["wrongful_lifted"] > 0
    # Everyone appeals, so every wrongfully sanctioned citizen has at least one appeal; a lifted
    # sanction still counts as imposed: it happened, wrongly, for the appeal's delay.
    assert ban["appeals"]["wrongful_appealed"] >= ban["wrongful"]
    assert ban["appeals"]["wrongful_lifted"] <= ban["appeals"]["wrongful_appealed"]


def test_appeals_shorten_time_under_sanction():
    plain = creditsim.run(_scenario(share_by_income={}), population=20_000, seed=44)
    redress = creditsim.run(
        _scenario(success_rate_wrongful=1.0, success_rate_rightful=1.0, delay_days=20),
        population=20_000,
        seed=44,
    )
    before = plain.audit()["overall"]["sanctions"]["ban"]
    after = redress.audit()["overall"]["sanctions"]["ban"]
    assert before["sanctioned"] == after["sanctioned"]
    assert before["appeals"]["filed"] == 0
    assert after["person_days"] < before["person_days"]


def test_appeal_settings_are_validated():
    with pytest.raises(ScenarioError, match="appeals.low_grade_multiplier"):
        load_scenario("national-2018", {"appeals": {"low_grade_multiplier": -1.0}})
    with pytest.raises(ScenarioError, match="success_rate_wrongful"):
        load_scenario("national-2018", {"appeals": {"success_rate_wrongful": 1.5}})
