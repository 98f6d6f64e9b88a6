"""Analytic checks: each stage's counts against the value its model implies.

Every random count is compared with its analytic expectation within 5 standard deviations of
the count's own distribution (Poisson or binomial, stated at each check). For a fixed seed the
test is deterministic; a correct model fails such a bound with a chance of about 6e-7 per check,
while the bounds are narrow enough (a few per cent of the count) to catch a wrong formula.
"""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
from conftest import assert_close_count, binomial_sd, build_scenario, poisson_sd

import creditsim
from creditsim.arrays.streams import stream
from creditsim.behaviours import draw_events, expected_weight
from creditsim.channels import observe
from creditsim.channels.cameras import coverage
from creditsim.channels.records import (
    CAUSES,
    CORRECT,
    FACE,
    INFORMANT_FALSE,
    NO_ACTOR,
    PLATFORM_FALSE,
)
from creditsim.population import CHILD, build_population
from creditsim.response import detection_chance, respond
from creditsim.scenario.schema import AGE_BANDS, CHANNELS, fpir

DAYS = 365


def population(scenario, n, seed):
    return build_population(scenario, n, stream(seed, 0, "population"))


def propensity_of(pop, category: str) -> np.ndarray:
    """Each citizen's propensity for a category, whatever the array's orientation."""
    column = pop.categories.index(category)
    table = pop.propensity
    if table.shape[0] == pop.size and table.shape[-1] != pop.size:
        return table[:, column].astype(np.float64)
    return table[column].astype(np.float64)


def analytic_weights(behaviour, pop) -> np.ndarray:
    """age multiplier × propensity (when weighted), written out from the model's definition."""
    age = np.array([behaviour.age_multipliers.get(a, 1.0) for a in AGE_BANDS])
    weights = age[pop.age_band]
    if behaviour.propensity_weight:
        weights = weights * propensity_of(pop, behaviour.category)
    return weights


# --- true events ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def national():
    scenario = creditsim.load_scenario("national-2018")
    pop = population(scenario, 200_000, seed=3)
    return scenario, pop


# jaywalking: propensity, no age multipliers; red_light: propensity and age multipliers
# (child 0, senior 0.3); volunteering: neither; blood_donation: age multipliers only.
CHECKED = ("jaywalking", "red_light", "volunteering", "blood_donation", "gaming_ten_hours")


@pytest.mark.parametrize("days", [DAYS, 182])
def test_events_per_behaviour_match_poisson_expectation(national, days):
    scenario, pop = national
    events = draw_events(scenario, pop, days, 5, 0)
    names = [b.name for b in scenario.behaviours]
    assert events.day.min() >= 0 and events.day.max() < days
    for name in CHECKED:
        index = names.index(name)
        behaviour = scenario.behaviours[index]
        weight = analytic_weights(behaviour, pop).sum()
        assert expected_weight(scenario, pop, index) == pytest.approx(weight, rel=1e-5)
        expected = behaviour.rate_per_year * days / 365.0 * weight
        count = int((events.behaviour == index).sum())
        # The count is Poisson(expected) given the population: 5 Poisson sd.
        assert_close_count(count, expected, poisson_sd(expected))


def test_event_weights_exact_for_unweighted_behaviours(national):
    scenario, pop = national
    names = [b.name for b in scenario.behaviours]
    volunteering = names.index("volunteering")  # weight 1 for everyone
    assert expected_weight(scenario, pop, volunteering) == pytest.approx(pop.size)
    blood = names.index("blood_donation")  # child 0, senior 0.2, others 1
    seniors = int((pop.age_band == AGE_BANDS.index("senior")).sum())
    children = int((pop.age_band == CHILD).sum())
    exact = pop.size - children - seniors + 0.2 * seniors
    assert expected_weight(scenario, pop, blood) == pytest.approx(exact, rel=1e-9)


def test_propensity_has_mean_one(national):
    scenario, pop = national
    for category in pop.categories:
        values = propensity_of(pop, category)
        # gamma(shape k, scale 1/k): variance 1/k; 5 standard errors of the mean.
        sd_mean = math.sqrt(1.0 / scenario.propensity.shape / pop.size)
        assert abs(values.mean() - 1.0) <= 5 * sd_mean, category


def test_zero_age_multiplier_means_no_events(national):
    scenario, pop = national
    events = draw_events(scenario, pop, DAYS, 5, 0)
    names = [b.name for b in scenario.behaviours]
    for name in ("red_light", "blood_donation", "unpaid_fine"):
        chosen = events.behaviour == names.index(name)
        assert chosen.sum() > 0
        assert not (pop.age_band[events.person[chosen]] == CHILD).any(), name


def test_events_by_propensity_tercile(national):
    scenario, pop = national
    names = [b.name for b in scenario.behaviours]
    index = names.index("jaywalking")
    behaviour = scenario.behaviours[index]
    events = draw_events(scenario, pop, DAYS, 5, 0)
    per_person = np.bincount(events.person[events.behaviour == index], minlength=pop.size)
    propensity = propensity_of(pop, behaviour.category)
    cut = np.quantile(propensity, [1 / 3, 2 / 3])
    tercile = np.searchsorted(cut, propensity, side="right")
    means = []
    for t in range(3):
        members = tercile == t
        observed = int(per_person[members].sum())
        expected = behaviour.rate_per_year * float(propensity[members].sum())
        # Events in a tercile are Poisson given the population: 5 Poisson sd.
        assert_close_count(observed, expected, poisson_sd(expected))
        means.append(observed / members.sum())
    assert means[0] < means[1] < means[2]
    # With a gamma of shape 0.5 the top tercile offends many times more than the bottom one.
    assert means[2] > 5 * means[0]


# --- cameras and face identification ------------------------------------------------------------

# gallery = reference: FPIR = 1 - (1 - reference) ** multiplier (a hazard times the multiplier)
CAMERA_FPIR = {"a": 0.01, "b": 1.0 - 0.99**5}


@pytest.fixture(scope="module")
def camera_case():
    scenario = build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 3.0, "propensity_weight": False}],
            "channels": {
                "camera": {
                    "true_identification_rate": 0.9,
                    "fpir_reference": 0.01,
                    "reference_gallery": 1.0e7,
                    "gallery_size": 1.0e7,  # gallery = reference
                    "fpir_multiplier_by_group": {"a": 1.0, "b": 5.0},
                }
            },
        }
    )
    pop = population(scenario, 100_000, seed=4)
    events = draw_events(scenario, pop, DAYS, 4, 0)
    records = observe(scenario, pop, events, DAYS, 4, 0)
    return scenario, pop, events, records


def test_fpir_formula():
    camera = creditsim.load_scenario("national-2018").channels.camera
    growth = (1.3e9 / 1.2e7) ** 0.3
    # The wrong-match hazard -ln(1 - 0.002) grows with the gallery and the multiplier.
    assert fpir(camera, 1.0) == pytest.approx(1.0 - 0.998**growth)
    assert fpir(camera, 3.0) == pytest.approx(1.0 - 0.998 ** (3.0 * growth))
    assert fpir(camera, 0.0) == 0.0
    assert fpir(camera, 100.0) == pytest.approx(1.0 - 0.998 ** (100.0 * growth))
    assert fpir(camera, 1.0e6) == 1.0  # a probability, reached only in the limit
    reference = camera.model_copy(update={"gallery_size": camera.reference_gallery})
    assert fpir(reference, 1.0) == pytest.approx(0.002)  # exact on the reference gallery


def _on_days(citizens: int, days: list[int]):
    """A population of one region and one event per citizen on each of `days` (the fields
    `coverage` reads)."""
    pop = types.SimpleNamespace(region=np.zeros(citizens, dtype=np.int8))
    events = types.SimpleNamespace(
        person=np.arange(len(days), dtype=np.int32) % citizens, day=np.array(days, dtype=np.int32)
    )
    return pop, events


def test_coverage_constant_without_growth(camera_case):
    scenario = camera_case[0]
    expected = 1.0 - math.exp(-0.0015 * 200.0)
    pop, events = _on_days(3, [0, 100, 364])
    value = coverage(scenario, pop, events)
    assert isinstance(value, float)  # one number for every event: no gathers
    assert value == pytest.approx(expected, rel=1e-12)


def test_coverage_grows_with_cameras():
    scenario = build_scenario({"regions": [{"name": "only", "camera_growth_per_year": 0.77}]})
    values = coverage(scenario, *_on_days(2, [0, 365]))
    # After a year the cameras have grown by 77 per cent.
    expected = [1 - math.exp(-0.0015 * 200.0), 1 - math.exp(-0.0015 * 200.0 * 1.77)]
    np.testing.assert_allclose(values, expected, rtol=1e-9)


def test_camera_records_per_event(camera_case):
    scenario, pop, events, records = camera_case
    cover = 1.0 - math.exp(-0.0015 * 200.0)
    tir = scenario.channels.camera.true_identification_rate
    assert set(np.unique(records.channel)) == {CHANNELS.index("camera")}
    assert set(np.unique(records.cause)) <= {CORRECT, FACE}
    actor_group = pop.group[records.actor]
    event_group = pop.group[events.person]
    for g, name in enumerate(("a", "b")):
        rate = CAMERA_FPIR[name]
        multiplier = {"a": 1.0, "b": 5.0}[name]
        assert fpir(scenario.channels.camera, multiplier) == pytest.approx(rate)
        n = int((event_group == g).sum())
        # Each event independently becomes a record with chance coverage × (FPIR + TIR × (1 -
        # FPIR)), the three outcomes of one search competing: 5 binomial sd.
        p_record = cover * (rate + tir * (1.0 - rate))
        assert_close_count(int((actor_group == g).sum()), n * p_record, binomial_sd(n, p_record))
        # ... and a misattributed one with chance coverage × FPIR(group).
        p_face = cover * rate
        face = int(((actor_group == g) & (records.cause == FACE)).sum())
        assert_close_count(face, n * p_face, binomial_sd(n, p_face))


def test_misidentified_records_hit_someone_else_of_the_same_group(camera_case):
    _, pop, _, records = camera_case
    face = records.cause == FACE
    correct = records.cause == CORRECT
    assert face.sum() > 100
    assert (records.subject[face] != records.actor[face]).all()
    assert (pop.group[records.subject[face]] == pop.group[records.actor[face]]).all()
    assert (records.subject[correct] == records.actor[correct]).all()


def test_no_fpir_for_a_zero_multiplier():
    scenario = build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 2.0}],
            "channels": {"camera": {"fpir_multiplier_by_group": {"a": 0.0}}},
        }
    )
    pop = population(scenario, 20_000, seed=6)
    records = observe(scenario, pop, draw_events(scenario, pop, DAYS, 6, 0), DAYS, 6, 0)
    face = records.cause == FACE
    assert face.sum() > 0  # group b still errs
    assert not (pop.group[records.actor[face]] == 0).any()


# --- platforms and informants ------------------------------------------------------------------


def test_platform_recall_and_precision():
    scenario = build_scenario(
        {
            "behaviours": [
                {"name": "loiter", "remove": True},
                {
                    "name": "post",
                    "category": "speech",
                    "rate_per_year": 2.0,
                    "channels": ["platform"],
                },
            ],
            "channels": {"platform": {"recall": 0.6, "precision": 0.8}},
        }
    )
    pop = population(scenario, 50_000, seed=8)
    events = draw_events(scenario, pop, DAYS, 8, 0)
    records = observe(scenario, pop, events, DAYS, 8, 0)
    true = int((records.cause == CORRECT).sum())
    false = records.cause == PLATFORM_FALSE
    assert set(np.unique(records.cause)) == {CORRECT, PLATFORM_FALSE}
    # True flags: binomial(events, recall), 5 sd.
    assert_close_count(true, events.size * 0.6, binomial_sd(events.size, 0.6))
    # False flags: Poisson with mean true × (1 - precision) / precision, 5 sd.
    expected_false = true * 0.2 / 0.8
    assert_close_count(int(false.sum()), expected_false, poisson_sd(expected_false))
    assert (records.actor[false] == NO_ACTOR).all()
    assert (records.actor[~false] == records.subject[~false]).all()
    precision = true / records.size
    assert precision == pytest.approx(0.8, abs=0.01)


def test_informant_false_share():
    scenario = build_scenario(
        {
            "behaviours": [
                {"name": "loiter", "remove": True},
                {
                    "name": "gossip",
                    "category": "civic",
                    "rate_per_year": 2.0,
                    "channels": ["informant"],
                },
            ],
            "channels": {
                "informant": {"report_rate": 0.3, "false_share": 0.2, "informer_points": 5}
            },
        }
    )
    pop = population(scenario, 50_000, seed=9)
    events = draw_events(scenario, pop, DAYS, 9, 0)
    records = observe(scenario, pop, events, DAYS, 9, 0)
    informing = len(scenario.behaviours)
    reports = records.kind < informing
    true = int((reports & (records.cause == CORRECT)).sum())
    false = int((reports & (records.cause == INFORMANT_FALSE)).sum())
    # True reports: binomial(events, report_rate), 5 sd.
    assert_close_count(true, events.size * 0.3, binomial_sd(events.size, 0.3))
    # False reports: Poisson with mean true × f / (1 - f), so that f of all reports are false.
    expected_false = true * 0.2 / 0.8
    assert_close_count(false, expected_false, poisson_sd(expected_false))
    assert false / (true + false) == pytest.approx(0.2, abs=0.01)
    fabricated = reports & (records.cause == INFORMANT_FALSE)
    assert (records.actor[fabricated] == NO_ACTOR).all()
    # Every report, true or false, earns its informer (an adult) one "informed" record.
    credit = records.kind == informing
    assert int(credit.sum()) == true + false
    assert (records.subject[credit] == records.actor[credit]).all()
    assert not (pop.age_band[records.subject[credit]] == CHILD).any()


def test_pooling_share_thins_records():
    scenario = build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 2.0, "channels": ["transport"]}],
            "regions": [{"name": "only", "pooling_share": 0.4}],
            "channels": {"transport": {"detect_rate": 0.5}},
        }
    )
    pop = population(scenario, 50_000, seed=10)
    events = draw_events(scenario, pop, DAYS, 10, 0)
    records = observe(scenario, pop, events, DAYS, 10, 0)
    p = 0.5 * 0.4
    # Each event is detected and then pooled independently: binomial, 5 sd.
    assert_close_count(records.size, events.size * p, binomial_sd(events.size, p))


def test_office_delay_moves_records_and_drops_those_past_the_horizon():
    scenario = build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 1.0, "channels": ["court"]}],
            "channels": {"court": {"detect_rate": 1.0, "delay_days": 100}},
        }
    )
    pop = population(scenario, 20_000, seed=12)
    events = draw_events(scenario, pop, DAYS, 12, 0)
    records = observe(scenario, pop, events, DAYS, 12, 0)
    # detect_rate 1: exactly the events of the first 265 days are recorded, 100 days later.
    early = events.day < DAYS - 100
    assert records.size == int(early.sum())
    assert sorted(zip(records.day.tolist(), records.subject.tolist(), strict=True)) == sorted(
        zip((events.day[early] + 100).tolist(), events.person[early].tolist(), strict=True)
    )


# --- sanctions: denied purchases ---------------------------------------------------------------


def test_denied_purchases_per_person_day_banned():
    rate = 6.0
    scenario = build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 0.05, "channels": ["transport"]}],
            "channels": {"transport": {"detect_rate": 0.5}},
            "sanctions": [
                {
                    "name": "ban",
                    "duration_days": 120,
                    "trigger": {"record_behaviours": ["loiter"]},
                    "purchases": {
                        "kind": "train",
                        "attempts_per_year": {"low": rate, "middle": rate, "high": rate},
                    },
                }
            ],
        }
    )
    result = creditsim.run(scenario, population=100_000, seed=13)
    entry = result.audit()["overall"]["sanctions"]["ban"]
    person_days = entry["person_days"]
    assert entry["sanctioned"] > 500 and person_days > 50_000
    expected = rate / 365.0 * person_days
    # Tries while banned are Poisson with mean rate/365 per person-day: 5 Poisson sd.
    assert_close_count(entry["denied_purchases"], expected, poisson_sd(expected))
    frame = result.to_frame()
    assert int(frame["days_ban"].sum()) == person_days
    denied = [c for c in frame.columns if c.startswith("denied_") and c.endswith("ban")]
    assert len(denied) == 1
    assert int(frame[denied[0]].sum()) == entry["denied_purchases"]
    assert (frame.loc[frame["days_ban"] == 0, denied[0]] == 0).all()


def test_denied_purchases_by_income_band():
    from creditsim.intervals import Intervals
    from creditsim.sanctions import denied_purchases

    scenario = build_scenario(
        {
            "sanctions": [
                {
                    "name": "ban",
                    "duration_days": 100,
                    "trigger": {"record_behaviours": ["loiter"]},
                    "purchases": {
                        "kind": "flight",
                        "attempts_per_year": {"low": 0.0, "middle": 3.65, "high": 36.5},
                    },
                }
            ]
        }
    )
    pop = population(scenario, 50_000, seed=14)
    n = pop.size
    start = np.full(n, 200, dtype=np.int32)
    intervals = Intervals(np.arange(n, dtype=np.int32), start, start + 300)
    person, day = denied_purchases(scenario.sanctions[0], intervals, pop, DAYS, 14, 0)
    # Everyone banned from day 200 to past the horizon: 165 days within the run.
    assert (day >= 200).all() and (day < DAYS).all()
    band = pop.income_band[person]
    assert int((band == 0).sum()) == 0
    for b, per_year in ((1, 3.65), (2, 36.5)):
        expected = per_year * 165 / 365.0 * int((pop.income_band == b).sum())
        # Poisson per person, so Poisson in total: 5 sd.
        assert_close_count(int((band == b).sum()), expected, poisson_sd(expected))


# --- behavioural response ----------------------------------------------------------------------


def deterrence_scenario(published: bool = True, extra: dict | None = None):
    overrides = {
        "behaviours": [
            {
                "name": "loiter",
                "category": "transport",
                "rate_per_year": 2.0,
                "channels": ["transport"],
            },
            {
                "name": "donate",
                "category": "merit",
                "rate_per_year": 1.0,
                "offence": False,
                "channels": ["transport"],
            },
        ],
        "channels": {"transport": {"detect_rate": 0.5}},
        "response": {
            "deterrence": {
                "enabled": True,
                "secret_rules_awareness": 0.5,
                "elasticity_by_category": {"transport": 0.4, "merit": 0.9},
            }
        },
        "policy": {"published": published},
    }
    if extra:
        overrides = creditsim.scenario.merge(overrides, extra)
    return build_scenario(overrides)


@pytest.mark.parametrize(("published", "keep"), [(True, 0.8), (False, 0.9)])
def test_deterrence_keeps_one_minus_elasticity_times_perceived_detection(published, keep):
    scenario = deterrence_scenario(published)
    pop = population(scenario, 50_000, seed=15)
    events = draw_events(scenario, pop, DAYS, 15, 0)
    loiter = events.behaviour == 0
    chance = detection_chance(scenario, pop, events)
    np.testing.assert_allclose(chance, 0.5)
    kept = respond(scenario, pop, events, 15, 0)
    n = int(loiter.sum())
    # Published rules: keep 1 - 0.4 × 0.5 = 0.8; secret: perceived × 0.5, keep 0.9.
    # Each event is kept independently: 5 binomial sd.
    assert_close_count(int((kept.behaviour == 0).sum()), n * keep, binomial_sd(n, keep))
    # Acts that are not offences are never deterred.
    assert int((kept.behaviour == 1).sum()) == int((events.behaviour == 1).sum())


def test_deterrence_is_a_subset_of_the_events():
    scenario = deterrence_scenario()
    pop = population(scenario, 20_000, seed=16)
    events = draw_events(scenario, pop, DAYS, 16, 0)
    kept = respond(scenario, pop, events, 16, 0)
    before = set(
        zip(events.day.tolist(), events.person.tolist(), events.behaviour.tolist(), strict=True)
    )
    after = list(zip(kept.day.tolist(), kept.person.tolist(), kept.behaviour.tolist(), strict=True))
    assert set(after) <= before and len(after) < len(before)
    # Switched off, the response keeps every event.
    off = build_scenario(
        creditsim.scenario.merge(
            deterrence_scenario().model_dump(mode="python"),
            {"response": {"deterrence": {"enabled": False}}},
        )
    )
    assert respond(off, pop, events, 16, 0).size == events.size


def test_detection_chance_combines_channels_and_pooling():
    scenario = deterrence_scenario(
        extra={
            "behaviours": [{"name": "loiter", "channels": ["transport", "camera"]}],
            "regions": [{"name": "only", "pooling_share": 0.5}],
            "channels": {"camera": {"true_identification_rate": 0.8}},
        }
    )
    pop = population(scenario, 20_000, seed=17)
    events = draw_events(scenario, pop, DAYS, 17, 0)
    loiter = events.take(np.flatnonzero(events.behaviour == 0))
    cover = 1.0 - math.exp(-0.0015 * 200.0)
    # A camera's right match: the true-identification rate where no wrong match took the search.
    camera = scenario.channels.camera
    wrong = np.array(
        [fpir(camera, camera.fpir_multiplier_by_group.get(g.name, 1.0)) for g in scenario.groups]
    )[pop.group[loiter.person]]
    expected = (1.0 - (1.0 - 0.5) * (1.0 - cover * 0.8 * (1.0 - wrong))) * 0.5
    np.testing.assert_allclose(detection_chance(scenario, pop, loiter), expected, rtol=1e-9)

    kept = respond(scenario, pop, events, 17, 0)
    keep = 1.0 - 0.4 * expected  # per event
    # 5 sd of the sum of the events' Bernoulli draws.
    sd = math.sqrt(float((keep * (1.0 - keep)).sum()))
    assert_close_count(int((kept.behaviour == 0).sum()), float(keep.sum()), sd)


def test_causes_are_named():
    assert CAUSES[CORRECT] == "correct"
    assert CAUSES[FACE] == "face_misidentification"
    assert CAUSES[PLATFORM_FALSE] == "platform_false_positive"
    assert CAUSES[INFORMANT_FALSE] == "false_informant_report"
