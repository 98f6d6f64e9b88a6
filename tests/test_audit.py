"""The audit: wrongful sanctions, disparity, the confusion matrix, children reached; and the
exact bookkeeping underneath it (sanction intervals, the points ledger)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_scenario, face_error_scenario, national_core

import creditsim
from creditsim.intervals import Intervals, people, union
from creditsim.policies.scores import (
    GradeChanges,
    ScoreRule,
    grade_of,
    run_ledger,
    score_summary,
    start_histogram,
)
from creditsim.sanctions import ever_inside, grade_spells, impose
from creditsim.scenario import ScenarioError
from creditsim.scenario.schema import PointsPolicy

# --- no error, no wrongful sanction -------------------------------------------------------------


@pytest.fixture(scope="module")
def error_free():
    scenario = creditsim.load_scenario(
        "national-2018",
        {
            "channels": {
                "camera": {"fpir_reference": 0.0},
                "informant": {"enabled": False},
                "platform": {"precision": 1.0},
                "merges": {"enabled": False},
                "plate": {"other_driver_share": 0.0},
            }
        },
    )
    return creditsim.run(scenario, population=100_000, seed=21)


def test_no_wrongful_sanction_without_errors(error_free):
    overall = error_free.audit()["overall"]
    assert overall["wrongful_records"] == 0
    assert overall["fabricated_records"] == 0
    assert set(k for k, v in overall["records_by_cause"].items() if v) == {"correct"}
    sanctions = overall["sanctions"]
    names = {s.name for s in error_free.scenario.sanctions}
    assert set(sanctions) == names | {"any"}
    assert sanctions["any"]["sanctioned"] > 100
    for name, entry in sanctions.items():
        assert entry["wrongful"] == 0, name
    frame = error_free.to_frame()
    wrongful_columns = [
        c for c in frame.columns if c.startswith("wrongful_") and c != "wrongful_records"
    ]
    lists = [p.name for p in error_free.scenario.list_policies]
    assert sorted(wrongful_columns) == sorted(
        [f"wrongful_{name}" for name in names] + [f"wrongful_listed_{name}" for name in lists]
    )
    for name, entry in overall["lists"].items():
        assert entry["sanctioned"] > 0 and entry["wrongful"] == 0, name
    for name, entry in overall["policies"].items():
        assert entry["punished"]["wrongful"] == 0, name
    for column in [*wrongful_columns, "any_wrongful"]:
        assert not frame[column].any(), column
    assert (frame["wrongful_records"] == 0).all()


# --- disparity from a face-matching error that hits one group --------------------------------


@pytest.fixture(scope="module")
def unequal_fpir():
    return creditsim.run(face_error_scenario(1.0), population=100_000, seed=22)


def test_group_with_higher_fpir_is_flagged(unequal_fpir):
    audit = unequal_fpir.audit()
    assert audit["reference_group"] == "a"
    a = audit["by_group"]["a"]["sanctions"]["ban"]
    b = audit["by_group"]["b"]["sanctions"]["ban"]
    assert a["wrongful"] == 0
    assert b["wrongful"] > 100
    # b is sanctioned more often than a: its disparate impact (b's rate / a's) is above 1.25.
    assert b["disparate_impact"] > 1.25
    assert b["four_fifths_flag"] is True
    assert b["in_words"].startswith(f"sanctioned {b['disparate_impact']:.2g} times as often as a")
    assert a["disparate_impact"] == pytest.approx(1.0)
    assert a["four_fifths_flag"] is False
    assert "b:ban" in audit["flagged"]
    assert not any(flag.startswith("a:") for flag in audit["flagged"])
    # The ratio is the group's sanction rate over the reference group's, from the citizens.
    frame = unequal_fpir.to_frame()
    banned = frame["days_ban"] > 0
    rate = {g: banned[frame["group"] == g].mean() for g in ("a", "b")}
    assert b["sanction_rate"] == pytest.approx(rate["b"])
    assert b["disparate_impact"] == pytest.approx(rate["b"] / rate["a"])
    assert int(frame.loc[frame["group"] == "b", "wrongful_ban"].sum()) == b["wrongful"]


def test_flag_threshold_is_the_scenario_threshold(unequal_fpir):
    scenario = creditsim.load_scenario(
        unequal_fpir.scenario, {"audit": {"four_fifths_threshold": 0.01}}
    )
    audit = creditsim.run(scenario, population=100_000, seed=22).audit()
    assert audit["four_fifths_threshold"] == 0.01
    assert audit["by_group"]["b"]["sanctions"]["ban"]["four_fifths_flag"] is False
    assert audit["flagged"] == []


# --- confusion matrix ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def national():
    return creditsim.run("national-2018", population=100_000, seed=23)


def _check_confusion(m: dict, citizens: int) -> None:
    tp, fp, fn, tn = (
        m[k] for k in ("true_positive", "false_positive", "false_negative", "true_negative")
    )
    assert min(tp, fp, fn, tn) >= 0
    assert tp + fp == m["sanctioned"]
    if "deserved" in m:  # the overall entries report it; by group and region it is tp + fn
        assert tp + fn == m["deserved"]
    assert tp + fp + fn + tn == citizens
    if fp + tn:
        assert m["false_positive_rate"] == pytest.approx(fp / (fp + tn))
    if fn + tp:
        assert m["false_negative_rate"] == pytest.approx(fn / (fn + tp))


def test_confusion_matrix_identities(national):
    audit = national.audit()
    overall = audit["overall"]
    sanctions = overall["sanctions"]
    assert sanctions["any"]["sanctioned"] > 0
    for name, entry in sanctions.items():
        _check_confusion(entry, overall["citizens"])
        assert "deserved" in entry, name
    for breakdown in ("by_group", "by_region"):
        parts = audit[breakdown]
        assert sum(p["citizens"] for p in parts.values()) == overall["citizens"]
        for name in sanctions:
            for part in parts.values():
                _check_confusion(part["sanctions"][name], part["citizens"])
            for key in (
                "sanctioned",
                "wrongful",
                "true_positive",
                "false_positive",
                "false_negative",
                "true_negative",
            ):
                total = sum(p["sanctions"][name][key] for p in parts.values())
                assert total == sanctions[name][key], (breakdown, name, key)
            deserved = sum(
                p["sanctions"][name]["true_positive"] + p["sanctions"][name]["false_negative"]
                for p in parts.values()
            )
            assert deserved == sanctions[name]["deserved"], (breakdown, name)


def test_audit_counts_match_the_citizens(national):
    audit = national.audit()
    frame = national.to_frame()
    names = [s.name for s in national.scenario.sanctions if s.kind == "sanction"]
    for name in names:
        sanctioned = frame[f"days_{name}"] > 0
        assert int(sanctioned.sum()) == audit["overall"]["sanctions"][name]["sanctioned"]
        assert (
            int(frame[f"wrongful_{name}"].sum()) == audit["overall"]["sanctions"][name]["wrongful"]
        )
        # A wrongful sanction is a sanction.
        assert not (frame[f"wrongful_{name}"] & ~sanctioned).any()
        for group, metrics in audit["by_group"].items():
            in_group = frame["group"] == group
            assert int((sanctioned & in_group).sum()) == metrics["sanctions"][name]["sanctioned"]
    any_sanction = (frame[[f"days_{n}" for n in names]] > 0).any(axis=1)
    assert int(any_sanction.sum()) == audit["overall"]["sanctions"]["any"]["sanctioned"]
    assert (frame["any_wrongful"] == frame[[f"wrongful_{n}" for n in names]].any(axis=1)).all()
    assert int(frame["true_offences"].sum()) == audit["overall"]["true_offences"]
    assert int(frame["wrongful_records"].sum()) == audit["overall"]["wrongful_records"]


# --- sanction intervals ---------------------------------------------------------------------------


def _as_set(intervals: Intervals) -> set[tuple[int, int, int]]:
    return set(
        zip(
            intervals.person.tolist(),
            intervals.start.tolist(),
            intervals.end.tolist(),
            strict=True,
        )
    )


def _intervals(rows) -> Intervals:
    person, start, end = (np.array(column, dtype=np.int32) for column in zip(*rows, strict=True))
    return Intervals(person, start, end)


def test_union_merges_overlaps_of_one_person_only():
    parts = [
        _intervals([(1, 0, 10), (2, 3, 8), (1, 50, 60), (3, 0, 10)]),
        _intervals([(1, 5, 20), (4, 5, 15), (1, 8, 12), (2, 100, 110)]),
    ]
    merged = union(parts)
    assert _as_set(merged) == {
        (1, 0, 20),
        (1, 50, 60),
        (2, 3, 8),
        (2, 100, 110),
        (3, 0, 10),
        (4, 5, 15),
    }
    assert merged.size == 6
    # One person's merged intervals never overlap.
    order = np.lexsort((merged.start, merged.person))
    person, start, end = merged.person[order], merged.start[order], merged.end[order]
    same = person[1:] == person[:-1]
    assert (start[1:][same] > end[:-1][same]).all()


def test_union_of_nested_and_touching_intervals():
    merged = union([_intervals([(7, 0, 100), (7, 10, 20), (7, 100, 150), (7, 151, 160)])])
    # A term starting on the day another ends continues it; a day's gap keeps them apart.
    assert _as_set(merged) == {(7, 0, 150), (7, 151, 160)}
    assert union([]).size == 0


def test_record_trigger_term():
    scenario = build_scenario(
        {
            "behaviours": [{"name": "dodge", "category": "transport", "rate_per_year": 0.1}],
            "sanctions": [
                {"name": "ban", "duration_days": 365, "trigger": {"record_behaviours": ["dodge"]}}
            ],
        }
    )
    loiter, dodge = 0, 1
    none = GradeChanges(*(np.zeros(0, dtype=t) for t in (np.int32, np.int32, np.int8, np.int8)))
    day = np.array([0, 0, 100, 300], dtype=np.int32)
    subject = np.array([5, 6, 5, 9], dtype=np.int32)
    kind = np.array([dodge, loiter, dodge, loiter], dtype=np.int16)
    ban = impose(scenario, {"points": none}, {}, day[:1], subject[:1], kind[:1], 1000)["ban"]
    assert _as_set(ban) == {(5, 0, 365)}
    assert ban.days_within(1000).tolist() == [365]
    assert ban.days_within(100).tolist() == [100]
    # A second record during the term extends it; other behaviours trigger nothing.
    ban = impose(scenario, {"points": none}, {}, day, subject, kind, 1000)["ban"]
    assert _as_set(ban) == {(5, 0, 465)}
    assert ban.days_per_person(10, 365).tolist() == [0] * 5 + [365] + [0] * 4


GRADES = [
    {"grade": "A", "min_score": 120},
    {"grade": "B", "min_score": 80},
    {"grade": "C", "min_score": 40},
    {"grade": "D", "min_score": 0},
]


def _changes(rows) -> GradeChanges:
    day, person, before, after = zip(*rows, strict=True)
    return GradeChanges(
        np.array(day, dtype=np.int32),
        np.array(person, dtype=np.int32),
        np.array(before, dtype=np.int8),
        np.array(after, dtype=np.int8),
    )


def test_low_grade_spells():
    scenario = build_scenario(
        {
            "policy": {"start": 100, "minimum": 0, "maximum": 150, "grades": GRADES},
            "sanctions": [
                {"name": "ban", "duration_days": 60, "trigger": {"grade_at_or_below": "C"}}
            ],
        }
    )
    A, B, C, D = range(4)  # noqa: N806
    changes = _changes(
        [
            (10, 7, B, C),  # 7 enters the trigger grade
            (20, 3, A, D),  # 3 enters
            (30, 3, D, C),  # still at or below C: no crossing
            (50, 7, C, B),  # 7 leaves before the term is served: held to day 70
            (100, 7, B, D),  # 7 enters again and stays to the end of the run
            (200, 8, A, B),  # 8 never gets that low
            (300, 3, C, A),  # 3 leaves after the term: free on day 300
        ]
    )
    low = scenario.policy.grade_of("C")
    spells = grade_spells(changes, lambda g: g >= low, 365, scenario.sanctions[0].duration_days)
    assert _as_set(spells) == {(7, 10, 70), (3, 20, 300), (7, 100, 365)}
    # Through impose, the same spells (no records).
    empty = np.zeros(0, dtype=np.int32)
    ban = impose(scenario, {"points": changes}, {}, empty, empty, empty.astype(np.int16), 365)[
        "ban"
    ]
    assert _as_set(ban) == {(7, 10, 70), (3, 20, 300), (7, 100, 365)}
    # Who was ever that low, without the spells: 3 and 7 (8 never was), each once, in order.
    assert ever_inside(changes, lambda g: g >= low).tolist() == [3, 7]


def test_ever_inside_is_the_people_of_the_spells():
    """On changes of many citizens (each in day order, the citizens interleaved), the citizens
    ever inside a grade set are exactly those with a spell there."""
    rng = np.random.default_rng(3)
    person = rng.integers(0, 500, 4_000).astype(np.int32)
    day = rng.integers(0, 365, person.size).astype(np.int32)
    by_citizen = np.lexsort((day, person))  # each citizen's changes, in day order
    person, day = person[by_citizen], day[by_citizen]
    after = rng.integers(0, 4, person.size).astype(np.int8)
    before = np.empty_like(after)
    before[1:] = after[:-1]
    before[np.diff(person, prepend=-1) != 0] = 0  # each citizen starts in grade 0, outside
    order = np.argsort(day, kind="stable")  # then all in day order, as grade changes come
    changes = GradeChanges(*(c[order] for c in (day, person, before, after)))
    for low in (1, 2, 3):
        inside = lambda g, low=low: g >= low  # noqa: E731
        want = people(grade_spells(changes, inside, 365, 0))
        assert ever_inside(changes, inside).tolist() == want.tolist()
        assert 0 < want.size < 500


def test_high_grade_rewards():
    """A green lane for grade A or better, from a start at B: held while the grade stays there,
    and at least its term."""
    scenario = build_scenario(
        {
            "policy": {"start": 80, "minimum": 0, "maximum": 150, "grades": GRADES},
            "sanctions": [
                {
                    "name": "green_lane",
                    "kind": "reward",
                    "duration_days": 30,
                    "trigger": {"grade_at_or_above": "A"},
                }
            ],
        }
    )
    A, B, C, D = range(4)  # noqa: N806
    changes = _changes([(10, 1, B, A), (20, 1, A, B), (40, 2, B, A), (50, 3, B, C)])
    empty = np.zeros(0, dtype=np.int32)
    lane = impose(scenario, {"points": changes}, {}, empty, empty, empty.astype(np.int16), 365)[
        "green_lane"
    ]
    assert _as_set(lane) == {(1, 10, 40), (2, 40, 365)}
    with pytest.raises(ScenarioError, match="must be above the grade of the starting score"):
        build_scenario(
            {
                "policy": {"start": 80, "minimum": 0, "maximum": 150, "grades": GRADES},
                "sanctions": [
                    {"name": "x", "kind": "reward", "duration_days": 5,
                     "trigger": {"grade_at_or_above": "C"}}
                ],
            }
        )  # fmt: skip


# --- the points ledger ------------------------------------------------------------------------


def _policy(**extra) -> PointsPolicy:
    return PointsPolicy(start=100, minimum=0, maximum=150, grades=GRADES, **extra)


def _ledger(policy, rows, citizens, days, **kwargs):
    day, subject, kind = (np.array(c) for c in zip(*rows, strict=True))
    order = np.argsort(day, kind="stable")
    return run_ledger(
        ScoreRule.uniform(policy, np.array([-30, 40, -100], dtype=np.int32), citizens),
        day[order].astype(np.int32),
        subject[order].astype(np.int32),
        kind[order].astype(np.int16),
        days,
        **kwargs,
    )


def _change_rows(changes: GradeChanges):
    return list(
        zip(
            changes.day.tolist(),
            changes.person.tolist(),
            changes.before.tolist(),
            changes.after.tolist(),
            strict=True,
        )
    )


def test_grade_of_bands():
    policy = _policy()
    scores = np.array([0, 39, 40, 79, 80, 119, 120, 150])
    assert grade_of(policy, scores).tolist() == [3, 3, 2, 2, 1, 1, 0, 0]
    assert policy.start_grade() == 1
    assert policy.grade_of("C") == 2


def test_ledger_accumulates_clips_and_records_grade_changes():
    A, B, C, D = range(4)  # noqa: N806
    rows = [
        (1, 0, 0),  # 0: 100 - 30 = 70 (B -> C)
        (3, 0, 1),  # 0: 110 (C -> B)
        (5, 0, 1),  # 0: 150 (B -> A)
        (6, 0, 1),  # 0: 190, clipped to 150
        (2, 1, 2),  # 1: two deductions of 100 on one day: -200, clipped to 0 (B -> D)
        (2, 1, 2),
        (2, 2, 0),  # 2: -30 and +40 on one day: net +10 -> 110, no change of grade
        (2, 2, 1),
        (4, 4, 1),  # 4: +40 -> 140 (B -> A), then 110 (A -> B)
        (8, 4, 0),
    ]
    ledger = _ledger(_policy(), rows, citizens=5, days=10)
    assert ledger.score.tolist() == [150, 0, 110, 100, 110]
    assert ledger.grade.tolist() == [A, D, B, B, B]
    assert _change_rows(ledger.changes) == [
        (1, 0, B, C),
        (2, 1, B, D),
        (3, 0, C, B),
        (4, 4, B, A),
        (5, 0, B, A),
        (8, 4, A, B),
    ]


def test_ledger_same_day_records_net_before_clipping():
    # At the maximum, +40 and -30 on one day net +10: the score stays at 150 (not 120).
    rows = [(0, 0, 1), (0, 0, 1), (3, 0, 0), (3, 0, 1)]
    ledger = _ledger(_policy(), rows, citizens=1, days=5)
    assert ledger.score.tolist() == [150]


def test_ledger_restores_deductions_after_the_quiet_time():
    B, C = 1, 2  # noqa: N806
    rows = [
        (1, 0, 0),  # 0: -30 on day 1, restored on day 11
        (15, 1, 0),  # 1: -30 on day 15, restored on day 25: after the run
        (2, 2, 1),  # 2: +40 is never taken back
    ]
    policy = _policy(restore_after_days=10)
    ledger = _ledger(policy, rows, citizens=3, days=20)
    assert ledger.score.tolist() == [100, 70, 140]
    assert _change_rows(ledger.changes) == [
        (1, 0, B, C),
        (2, 2, B, 0),
        (11, 0, C, B),
        (15, 1, B, C),
    ]
    # Without restoration the deduction stays.
    assert _ledger(_policy(), rows, 3, 20).score.tolist() == [70, 70, 140]


def test_ledger_snapshots_of_the_score_distribution():
    rows = [(1, 0, 0), (15, 1, 0)]
    policy = _policy(restore_after_days=10)
    ledger = _ledger(
        policy, rows, 2, 20, cells=np.zeros(2, dtype=np.int32), cell_count=1, period_days=7
    )
    # One histogram per period end: day 6 (scores 70, 100), day 13 (100, 100), day 19 (100, 70).
    assert ledger.histograms.shape == (3, 1, policy.maximum - policy.minimum + 1)
    mean, quantiles = score_summary(ledger.histograms, policy.minimum)
    assert mean[:, 0].tolist() == [85.0, 100.0, 85.0]
    assert quantiles[:, 0].tolist() == [[70, 70, 100], [100, 100, 100], [70, 70, 100]]
    # Histograms of two shards add up: the merged quantiles are those of the union.
    both = ledger.histograms + start_histogram(
        policy, np.full(2, policy.start), np.zeros(2, dtype=np.int32), 1
    )
    mean, quantiles = score_summary(both, policy.minimum)
    assert mean[0, 0] == pytest.approx((70 + 100 + policy.start * 2) / 4)
    # An empty cell has no distribution.
    mean, quantiles = score_summary(np.zeros((1, 1, 5), dtype=np.int32), 0)
    assert np.isnan(mean).all() and np.isnan(quantiles).all()


# --- children reached ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def household_bans():
    # Judgments common enough that many households have both adults on the blacklist, which
    # reaches the whole household.
    scenario = national_core({"behaviours": [{"name": "unpaid_judgment", "rate_per_year": 1.0}]})
    return creditsim.run(scenario, population=30_000, seed=24)


def test_children_reached_once_per_child(household_bans):
    frame = household_bans.to_frame()
    overall = household_bans.audit()["overall"]
    child = frame["age_band"] == "child"
    blacklisted = frame["days_blacklist"] > 0
    reached_households = set(frame.loc[blacklisted, "household"])
    children_reached = int((child & frame["household"].isin(reached_households)).sum())
    assert overall["children_reached"] == children_reached
    assert 0 < overall["children_reached"] <= int(child.sum())

    children_per_household = frame.loc[child].groupby("household").size()
    adult_bans = blacklisted & frame["age_band"].isin(["young", "adult"])
    per_household = frame.loc[adult_bans].groupby("household").size()
    doubly = per_household[per_household >= 2].index
    doubly_with_children = [h for h in doubly if children_per_household.get(h, 0) >= 2]
    # Households with two sanctioned adults and two or more children exist here: each of
    # their children is counted once, not once per sanctioned parent.
    assert len(doubly_with_children) > 5
    household = doubly_with_children[0]
    members = frame[frame["household"] == household]
    assert int(members["children_affected"].max()) == int(children_per_household[household])
    # Summing children_affected over sanctioned parents counts such children twice.
    assert children_reached < int(frame.loc[blacklisted, "children_affected"].sum())

    # Each sanctioned adult's children_affected is the number of children in the household;
    # nobody outside a sanction that reaches children has any.
    expected = frame.loc[adult_bans, "household"].map(children_per_household).fillna(0)
    assert (frame.loc[adult_bans, "children_affected"] == expected.astype(int)).all()
    assert (frame.loc[~blacklisted, "children_affected"] == 0).all()
    assert (frame["children_affected"] <= frame["children"]).all()


def test_children_column_counts_the_children_in_the_household():
    # An adult's `children` is the number of children living in the household, including in
    # the household that the population size cuts short (the last one).
    from creditsim.arrays.streams import stream
    from creditsim.population import ADULT, CHILD, YOUNG, build_population

    scenario = creditsim.load_scenario("national-2018")
    for size in (30_000, 20_001, 5_003, 997):
        pop = build_population(scenario, size, stream(24, 0, "population"))
        kids = np.bincount(pop.household, weights=pop.age_band == CHILD, minlength=pop.households)
        adults = np.isin(pop.age_band, [YOUNG, ADULT])
        wrong = np.flatnonzero(adults & (pop.children != kids[pop.household]))
        assert wrong.size == 0, (size, wrong, pop.children[wrong], kids[pop.household[wrong]])


def test_sanctions_on_the_person_reach_no_children():
    scenario = national_core(
        {
            "behaviours": [{"name": "unpaid_judgment", "rate_per_year": 1.0}],
            "sanctions": [{"name": "blacklist", "remove": True}],
        },
    )
    result = creditsim.run(scenario, population=30_000, seed=24)
    overall = result.audit()["overall"]
    assert overall["sanctions"]["any"]["sanctioned"] > 1000
    assert overall["children_reached"] == 0
    assert (result.to_frame()["children_affected"] == 0).all()
    # Children still live with sanctioned citizens; they are just not reached by these bans.
    assert overall["children_living_with_a_sanctioned_citizen"] > 0
