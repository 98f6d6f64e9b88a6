"""Scoring policies side by side: lists, the Sesame-like score with its fixed parts and contacts,
the FICO-like baseline, triggers that name a policy or a list, the side-by-side audit, and giving
up iterated to its fixed point."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_close_count, binomial_sd, build_scenario

import creditsim
from creditsim.policies.contacts import Network, contact_network
from creditsim.policies.lists import NEVER, ListRule
from creditsim.policies.scores import ScoreRule, run_ledger
from creditsim.scenario import ScenarioError, load_scenario
from creditsim.scenario.loading import resolve, validate
from creditsim.scenario.schema import CHANNELS, SesamePolicy

# A court-seen financial behaviour next to MINIMAL's camera-seen "loiter".
DEBT = {
    "name": "debt",
    "category": "financial",
    "rate_per_year": 0.5,
    "channels": ["court"],
    "points": -50,
}
FICO = {
    "type": "fico",
    "name": "fico",
    "points": {"debt": -40},
}
POINTS = {
    "type": "points",
    "name": "points",
    "start": 1000,
    "minimum": 0,
    "maximum": 2000,
    "grades": [
        {"grade": "A", "min_score": 950},
        {"grade": "B", "min_score": 500},
        {"grade": "C", "min_score": 0},
    ],
}


def _scenario(policies, sanctions=(), extra=None):
    raw = {
        "behaviours": [DEBT],
        "channels": {"court": {"detect_rate": 1.0, "delay_days": 0}},
        "policies": list(policies),
        "sanctions": list(sanctions),
    }
    return build_scenario({**raw, **(extra or {})})


# --- lists ------------------------------------------------------------------------------------


def _entries(rule, rows):
    day, subject, kind = (np.array(c) for c in zip(*rows, strict=True))
    spans = rule.entries(day.astype(np.int32), subject.astype(np.int32), kind.astype(np.int16))
    return sorted(zip(spans.person.tolist(), spans.start.tolist(), spans.end.tolist(), strict=True))


def test_a_list_term_ends_on_its_day_and_a_new_record_extends_it():
    listing = {"type": "list", "name": "debtors", "entry_behaviours": ["debt"], "term_days": 365}
    scenario = _scenario([POINTS, listing])
    rule = ListRule(scenario, scenario.list_policies[0], np.zeros(10, np.int8), 1, 0)
    loiter, debt = 0, 1
    assert _entries(rule, [(0, 5, debt)]) == [(5, 0, 365)]
    # Another behaviour lists nobody; a second entry during the term extends the stay.
    assert _entries(rule, [(0, 5, debt), (3, 6, loiter), (100, 5, debt)]) == [(5, 0, 465)]
    # Without removal by time, an entry lasts until something else removes it.
    forever = {**listing, "removal": ["appeal"]}
    scenario = _scenario([POINTS, forever])
    rule = ListRule(scenario, scenario.list_policies[0], np.zeros(10, np.int8), 1, 0)
    assert _entries(rule, [(7, 2, debt)]) == [(2, 7, NEVER)]


def test_removal_by_payment_follows_the_payment_rate():
    """Each listed citizen pays after an exponential time at the rate of their income band:
    within a 365-day term a share 1 - exp(-rate) pays, the rest serve the term."""
    listing = {
        "type": "list",
        "name": "debtors",
        "entry_behaviours": ["debt"],
        "removal": ["payment", "time"],
        "term_days": 365,
        "payments_per_year": {"low": 0.5, "middle": 1.0, "high": 2.0},
    }
    scenario = _scenario([POINTS, listing])
    n = 30_000
    income = np.repeat(np.arange(3, dtype=np.int8), n // 3)
    rule = ListRule(scenario, scenario.list_policies[0], income, 7, 0)
    spans = rule.entries(np.zeros(n, np.int32), np.arange(n, dtype=np.int32), np.ones(n, np.int16))
    assert spans.size == n
    assert (spans.end <= 365).all() and (spans.end >= 1).all()
    for band, rate in enumerate((0.5, 1.0, 2.0)):
        paid = int((spans.end[income[spans.person] == band] < 365).sum())
        p = 1.0 - math.exp(-rate)
        assert_close_count(paid, n // 3 * p, binomial_sd(n // 3, p))
    # The time to pay belongs to the citizen: the same whatever the stream of entries.
    again = rule.entries(np.zeros(1, np.int32), np.array([17], np.int32), np.ones(1, np.int16))
    assert again.end.tolist() == spans.end[spans.person == 17].tolist()


def test_a_sanction_on_a_list_holds_exactly_while_listed():
    listing = {
        "type": "list",
        "name": "debtors",
        "entry_behaviours": ["debt"],
        "removal": ["payment", "time"],
        "term_days": 200,
        "payments_per_year": {"low": 1.0, "middle": 1.0, "high": 1.0},
    }
    ban = {"name": "ban", "duration_days": 30, "trigger": {"on_lists": ["debtors"]}}
    result = creditsim.run(_scenario([POINTS, listing], [ban]), population=5_000, seed=2)
    frame = result.to_frame()
    assert frame["days_listed_debtors"].sum() > 1_000
    assert (frame["days_ban"] == frame["days_listed_debtors"]).all()
    lists = result.audit()["overall"]["lists"]["debtors"]
    assert lists["sanctioned"] == int((frame["days_listed_debtors"] > 0).sum())
    entries = lists["entries"]
    assert entries["total"] == entries["ended_by_term_or_payment"] + entries["still_listed_at_end"]


def test_appeals_take_citizens_off_a_list():
    listing = {
        "type": "list",
        "name": "debtors",
        "entry_behaviours": ["debt"],
        "removal": ["time", "appeal"],
        "term_days": 365,
    }
    appeals = {
        "enabled": True,
        "share_by_income": {"low": 0.5, "middle": 0.5, "high": 0.5},
        "success_rate_wrongful": 0.4,
        "success_rate_rightful": 0.4,
        "delay_days": 10,
    }
    scenario = _scenario([POINTS, listing], extra={"appeals": appeals})
    entry = creditsim.run(scenario, population=20_000, seed=3).audit()["overall"]["lists"]
    appealed = entry["debtors"]["appeals"]
    assert_close_count(appealed["upheld"], appealed["filed"] * 0.4,
                       binomial_sd(appealed["filed"], 0.4))  # fmt: skip
    assert entry["debtors"]["entries"]["lifted_on_appeal"] > 0


# --- score policies -----------------------------------------------------------------------------


def test_fico_reads_financial_records_only():
    """FICO reads court and tax records: its score is the start plus its points per court
    record, whatever the camera records; the points policy reads both."""
    scenario = _scenario([POINTS, FICO])
    frame = creditsim.run(scenario, population=5_000, seed=4).to_frame()
    assert frame["recorded_civic"].sum() > 1_000 and frame["recorded_financial"].sum() > 1_000
    expected_fico = np.maximum(700 - 40 * frame["recorded_financial"], 300)
    assert (frame["score_fico"] == expected_fico).all()
    expected_points = 1000 - 50 * frame["recorded_financial"] - 10 * frame["recorded_civic"]
    assert (frame["score_points"] == np.maximum(expected_points, 0)).all()


def test_income_and_age_points_set_each_start():
    sesame = {
        "type": "sesame",
        "name": "sesame",
        "income_points": {"low": -40, "high": 60},
        "age_points": {"young": -20, "senior": 5},
    }
    quiet = {
        "behaviours": [
            {**DEBT, "rate_per_year": 0.0},
            {"name": "loiter", "category": "civic", "rate_per_year": 0.0},
        ]
    }
    scenario = _scenario([POINTS, sesame], extra=quiet)
    frame = creditsim.run(scenario, population=3_000, seed=5).to_frame()
    income = frame["income_band"].astype(str).map({"low": -40, "middle": 0, "high": 60})
    age = frame["age_band"].astype(str).map({"child": 0, "young": -20, "adult": 0, "senior": 5})
    assert (frame["score_sesame"] == 600 + income + age).all()
    assert set(frame["grade_sesame"].astype(str)) >= {"good", "fair"}


def test_a_contact_pulls_the_score_by_the_weight():
    """Weight 0.5 on a path 0 - 1 - 2: a deduction of 100 on citizen 0 shows as 50 on 0 and 25
    on 1 (half of the mean of 0's and 2's own scores), and not at all on 2. Both 0 and 1 fall
    from "good" (600 and over) to "fair"."""
    policy = SesamePolicy(start=600, contacts={"weight": 0.5})
    network = Network(np.array([0, 1, 3, 4]), np.array([1, 0, 2, 1], dtype=np.int32))
    deltas = np.array([-100], dtype=np.int32)
    rule = ScoreRule(
        policy, deltas, np.ones(len(CHANNELS), bool), np.ones(1, bool), np.full(3, 600, np.int32),
        network,
    )  # fmt: skip
    one = np.ones(1, dtype=np.int32)
    ledger = run_ledger(rule, one, np.zeros(1, np.int32), np.zeros(1, np.int16), 5)
    assert ledger.score.tolist() == [550, 575, 600]
    # The grade changes reach the contact, on the day of the record.
    changes = ledger.changes
    assert sorted(zip(changes.person.tolist(), changes.day.tolist(), strict=True)) == [
        (0, 1),
        (1, 1),
    ]


def test_the_contact_network_has_the_set_mean_degree_and_the_household():
    scenario = load_scenario("national-2018")
    from creditsim.arrays.streams import stream
    from creditsim.population import build_population

    pop = build_population(scenario, 50_000, stream(1, 0, "population"))
    alone = contact_network(pop, SesamePolicy().contacts.model_copy(
        update={"household": False, "mean_degree": 8.0}), np.random.default_rng(1))  # fmt: skip
    degree = alone.degree
    assert_close_count(degree.sum(), 8.0 * pop.size, math.sqrt(8.0 * pop.size) * 2)
    home = contact_network(pop, SesamePolicy().contacts, np.random.default_rng(1))
    size = np.bincount(pop.household)[pop.household]
    assert (home.degree == size - 1).all()
    neighbours, which = home.of(np.arange(pop.size))
    assert (pop.household[neighbours] == pop.household[which]).all()
    assert (neighbours != which).all()


def test_own_changes_replay_only_the_wronged_and_trigger_the_same_spells():
    """A citizen with no wrongful record has the same records in the recorded and the own
    world: the own world takes their changes from the recorded ledger and replays only the
    wronged. Every grade spell must equal that of a replay of everyone's own records."""
    from creditsim.channels.records import CORRECT, FACE, Records, Selected
    from creditsim.engine.stages.policies import _own_changes, _wronged, at_or_below
    from creditsim.policies.scores import deltas
    from creditsim.sanctions import grade_spells

    grades = [{"grade": g, "min_score": m} for g, m in zip("ABCD", (950, 900, 850, 0), strict=True)]
    scenario = _scenario([{**POINTS, "grades": grades, "restore_after_days": 90}])
    policy = scenario.score_policies[0]
    rng = np.random.default_rng(7)
    n, days, size = 3_000, 365, 6_000
    rule = ScoreRule.uniform(policy, deltas(scenario, policy), n)
    rule.start[rng.random(n) < 0.1] = 860  # some start in grade C: a change on day 0
    actor = rng.integers(0, n, size)
    wrong = rng.random(size) < 0.05
    subject = np.where(wrong, rng.integers(0, n, size), actor)
    records = Records.build(
        rng.integers(0, days, size).astype(np.int32), subject, actor,
        rng.integers(0, 2, size).astype(np.int16), 0, np.where(wrong, FACE, CORRECT),
        np.arange(size, dtype=np.uint64),
    )  # fmt: skip
    own = Selected(records, records.cause == CORRECT)
    ledger = run_ledger(rule, records.day, records.subject, records.kind, days)
    triggers = [at_or_below(policy, 2), at_or_below(policy, 3)]  # grade B triggers nothing
    wronged = _wronged(records, records.cause == CORRECT, n)
    fast = _own_changes(rule, triggers, own, ledger, days, wronged)
    full = _own_changes(rule, triggers, own, ledger, days, None)
    assert fast.person.size > full.person.size  # the recorded changes of all the others
    spells = 0
    for inside in (lambda g: g >= 2, lambda g: g >= 3):
        got, want = (grade_spells(c, inside, days, 30) for c in (fast, full))
        for column in ("person", "start", "end"):
            assert np.array_equal(getattr(got, column), getattr(want, column))
        spells += int(np.isin(want.person, np.flatnonzero(wronged)).sum())
    assert spells > 0  # some of the wronged do reach a trigger


def test_selected_records_are_taken_column_by_column_when_read():
    from creditsim.channels.records import COLUMNS, Records, Selected

    rng = np.random.default_rng(3)
    size, n = 500, 40
    records = Records.build(
        rng.integers(0, 365, size).astype(np.int32), rng.integers(0, n, size),
        rng.integers(0, n, size), rng.integers(0, 4, size).astype(np.int16), 2,
        rng.integers(0, 3, size), np.arange(size, dtype=np.uint64),
    )  # fmt: skip
    mask = rng.random(size) < 0.3
    selected = Selected(records, mask)
    assert not COLUMNS & set(vars(selected))  # nothing taken yet
    taken = records.take(np.flatnonzero(mask))
    assert np.array_equal(selected.subject, taken.subject)
    assert selected.subject.shape[0] == int(mask.sum())
    assert set(vars(selected)) & COLUMNS == {"subject"}  # only what was read
    for column in sorted(COLUMNS):
        assert np.array_equal(getattr(selected, column), getattr(taken, column))
    citizens = rng.random(n) < 0.5
    about = selected.about(citizens)
    keep = np.flatnonzero(mask & citizens[records.subject])
    assert about.size == keep.size > 0
    assert np.array_equal(about.id, records.id[keep])
    with pytest.raises(AttributeError):
        _ = selected.nothing


def test_the_own_records_are_taken_only_where_a_list_or_a_record_trigger_reads_them():
    from creditsim.channels.records import COLUMNS
    from creditsim.engine.pipeline import PIPELINE
    from creditsim.engine.state import ShardState

    def taken(scenario) -> set[str]:
        state = ShardState(scenario, 3_000, 365, 5, 0, 0, False, np)
        for stage in PIPELINE:
            if stage.enabled(scenario):
                stage.run(state)
        return set(vars(state.evidence.own)) & COLUMNS

    assert taken(load_scenario("fico-baseline")) == set()
    # national-2018 has lists and sanctions triggered by records: both read (day, subject, kind)
    assert taken(load_scenario("national-2018")) == {"day", "subject", "kind"}


def test_the_side_by_side_audit_adds_up():
    result = creditsim.run("national-2018", population=30_000, seed=6)
    overall = result.audit()["overall"]
    policies = overall["policies"]
    assert set(policies) == {"national", "fico"}
    pair = overall["side_by_side"][0]
    assert pair["policies"] == ["national", "fico"] and pair["types"] == ["points", "fico"]
    for name in ("national", "fico"):
        punished = policies[name]["punished"]["sanctioned"]
        assert pair[f"punished_by_{name}"] == punished
        assert pair[f"only_{name}"] + pair["punished_by_both"] == punished
    assert policies["fico"]["punished"]["sanctioned"] > 0
    # FICO's punished have financial deductions, and nothing else.
    assert set(policies["fico"]["why_deductions_recorded_against_the_punished"]) == {"financial"}
    frame = result.to_frame()
    assert (frame["score_fico"] >= 300).all() and (frame["score_fico"] <= 850).all()
    # Each policy has its own grade mobility.
    assert policies["fico"]["mobility"]["grades"][-1] == "poor"


def test_a_sanction_names_its_policy():
    ban = {
        "name": "credit_refused",
        "duration_days": 1,
        "trigger": {"policy": "fico", "grade_at_or_below": "fair"},
    }
    scenario = _scenario([POINTS, {**FICO, "points": {"debt": -20}}], [ban])
    frame = creditsim.run(scenario, population=5_000, seed=7).to_frame()
    # FICO's fair grade lies below 670: one court record (-20) is not enough, two are.
    refused = frame["days_credit_refused"] > 0
    assert refused.any()
    assert (refused == (frame["recorded_financial"] >= 2)).all()


# --- giving up ----------------------------------------------------------------------------------


def test_giving_up_reaches_its_fixed_point():
    """After giving up, one more replay of the final records brings back no further offence."""
    from creditsim.arrays.streams import stream
    from creditsim.behaviours import draw_events
    from creditsim.channels import observe
    from creditsim.engine.stages.response import give_up as _give_up
    from creditsim.policies.scores import score_rules
    from creditsim.population import build_population
    from creditsim.response import given_up, respond_split
    from creditsim.sanctions import grade_spells

    scenario = build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 6.0, "points": -100}],
            "policy": {
                "grades": [
                    {"grade": "A", "min_score": 950},
                    {"grade": "B", "min_score": 700},
                    {"grade": "C", "min_score": 0},
                ]
            },
            "response": {
                "deterrence": {"enabled": True, "elasticity_by_category": {"civic": 1.0}},
                "giving_up": {"enabled": True, "grade": "C"},
            },
            "channels": {"camera": {"coverage_per_camera_per_1000": 0.004}},
        }
    )  # fmt: skip
    days, seed = 365, 3
    pop = build_population(scenario, 4_000, stream(seed, 0, "population"))
    kept, deterred = respond_split(
        scenario, pop, draw_events(scenario, pop, days, seed, 0), seed, 0
    )
    records = observe(scenario, pop, kept, days, seed, 0)
    rules = score_rules(scenario, pop, seed, 0)
    exempt = np.zeros(pop.size, dtype=bool)
    back, final = _give_up(resolve(scenario), pop, records, deterred, exempt, rules, days, seed, 0)
    assert back.any() and final.size > records.size
    # A further replay of the final records brings back exactly the same offences.
    ledger = run_ledger(rules[0], final.day, final.subject, final.kind, days)
    spells = grade_spells(ledger.changes, lambda g: g >= 2, days, 0)
    assert (given_up(deterred, spells) == back).all()


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"sanctions": [{"name": "x", "duration_days": 5,
                         "trigger": {"policy": "nope", "grade_at_or_below": "C"}}]},
         "unknown score policy 'nope'"),
        ({"sanctions": [{"name": "x", "duration_days": 5, "trigger": {"on_lists": ["nope"]}}]},
         "trigger.on_lists`: unknown names ['nope']"),
        ({"sanctions": [{"name": "x", "duration_days": 5,
                         "trigger": {"grade_at_or_below": "poor"}}]},
         "unknown grade 'poor' of policy 'points'"),
    ],
)  # fmt: skip
def test_policy_references_are_checked(change, fragment):
    with pytest.raises(ScenarioError) as caught:
        build_scenario(change)
    assert fragment in str(caught.value)


def test_one_file_gives_policy_or_policies():
    raw = build_scenario().model_dump(mode="python")
    raw["policy"] = POINTS
    with pytest.raises(ScenarioError, match="either `policy` or `policies`"):
        validate(raw, "test")


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ({**FICO, "contacts": {"weight": 0.1}}, "does not read social contacts"),
        ({**FICO, "points": {"nope": -1}}, "policies[fico].points`: unknown names ['nope']"),
        ({"type": "list", "name": "l", "entry_behaviours": ["debt"], "removal": ["payment"]},
         "removal by payment needs a rate"),
        ({"type": "list", "name": "l", "entry_behaviours": ["nope"]},
         "policies[l].entry_behaviours`: unknown names ['nope']"),
        ({"type": "secret", "name": "s"}, "type"),
    ],
)  # fmt: skip
def test_policy_settings_are_checked(policy, fragment):
    with pytest.raises(ScenarioError) as caught:
        _scenario([POINTS, policy])
    assert fragment in str(caught.value)


def test_a_scenario_needs_a_score_policy():
    listing = {"type": "list", "name": "l", "entry_behaviours": ["debt"]}
    with pytest.raises(ScenarioError, match="at least one score policy"):
        _scenario([{"name": "*", "remove": True}, listing])
