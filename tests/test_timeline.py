"""The calendar: dated phases take effect on their day, outputs carry dates, summaries come by
calendar year, and constant rules settle to a steady state."""

from __future__ import annotations

import datetime
import json
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import creditsim
from creditsim.channels.records import CORRECT
from creditsim.cli import app
from creditsim.engine.phased import clip
from creditsim.engine.pipeline import PIPELINE
from creditsim.engine.state import ShardState
from creditsim.scenario import ScenarioError, load_scenario
from creditsim.scenario.loading import resolve
from creditsim.scenario.schema import CHANNELS
from creditsim.scenario.timeline import year_starts

CITIZENS, DAYS, SEED = 4000, 365, 11
SWITCH = datetime.date(2018, 5, 1)  # the travel-ban rules in force from May 2018
SWITCH_DAY = (SWITCH - datetime.date(2018, 1, 1)).days  # 120


def _state(scenario, days: int = DAYS) -> ShardState:
    state = ShardState(scenario, CITIZENS, days, SEED, 0, 0, True, sys.modules["numpy"])
    for s in PIPELINE:
        if s.enabled(scenario):
            s.run(state)
    return state


def _phase(date: datetime.date, **settings) -> dict:
    return {"timeline": [{"date": date, "set": settings}]}


def test_a_sanction_comes_into_force_on_its_day_exactly():
    """Off until 1 May, then on: on each day the rules in force decide, so its intervals are
    exactly the always-on ones from that day (common random numbers: the same records)."""
    always = _state(load_scenario("national-2018"))
    phased = _state(
        load_scenario(
            "national-2018",
            {
                "sanctions": [{"name": "flight_ban", "in_force": False}],
                **_phase(SWITCH, **{"sanctions.flight_ban.in_force": True}),
            },
        )
    )
    before = always.sanctioned.recorded["flight_ban"]
    after = phased.sanctioned.recorded["flight_ban"]
    expected = clip(before, SWITCH_DAY, None)
    assert after.size > 0 and int(after.start.min()) == SWITCH_DAY
    for got, want in zip(
        (after.person, after.start, after.end),
        (expected.person, expected.start, expected.end),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)
    # Records and the other sanctions do not change (only what the change touches).
    # (records come in no particular order: compared sorted)
    np.testing.assert_array_equal(np.sort(always.records.day), np.sort(phased.records.day))
    np.testing.assert_array_equal(
        always.sanctioned.recorded["blacklist"].start, phased.sanctioned.recorded["blacklist"].start
    )
    # No purchase is denied before the ban is in force.
    assert phased.denied["flight_ban"][1].min() >= SWITCH_DAY


def test_a_channel_change_takes_effect_on_its_day():
    """Cameras stop identifying anyone on 1 May: the camera records before are exactly those of
    the unchanged scenario, and none that names the right person comes after."""
    camera = CHANNELS.index("camera")
    base = _state(load_scenario("national-2018"))
    changed = _state(
        load_scenario(
            "national-2018", _phase(SWITCH, **{"channels.camera.true_identification_rate": 0.0})
        )
    )

    def camera_records(state, early: bool):
        r = state.records
        when = r.day < SWITCH_DAY if early else r.day >= SWITCH_DAY
        chosen = np.flatnonzero((r.channel == camera) & when)
        order = np.lexsort((r.subject[chosen], r.day[chosen], r.kind[chosen]))
        return r.day[chosen][order], r.subject[chosen][order], r.cause[chosen][order]

    for got, want in zip(camera_records(changed, True), camera_records(base, True), strict=True):
        np.testing.assert_array_equal(got, want)
    late_base, late = camera_records(base, False), camera_records(changed, False)
    assert np.count_nonzero(late_base[2] == CORRECT) > 100
    assert np.count_nonzero(late[2] == CORRECT) == 0


def test_a_rate_change_thins_events_to_the_rate_of_their_day():
    """A behaviour's rate doubles on 1 July: the events after are twice as dense as before
    (within 5 sd of a Poisson count); a rate of zero leaves none in its phase."""
    july = datetime.date(2018, 7, 1)
    july_day = (july - datetime.date(2018, 1, 1)).days
    base = load_scenario("national-2018", {"response": {"enabled": False}})
    rate = next(b.rate_per_year for b in base.behaviours if b.name == "jaywalking")
    doubled = load_scenario(base, _phase(july, **{"behaviours.jaywalking.rate_per_year": 2 * rate}))
    events = _state(doubled).events
    index = [b.name for b in base.behaviours].index("jaywalking")
    day = events.day[events.behaviour == index]
    early, late = np.count_nonzero(day < july_day), np.count_nonzero(day >= july_day)
    expected_ratio = 2 * (DAYS - july_day) / july_day
    sd = expected_ratio * np.sqrt(1 / early + 1 / late)
    assert abs(late / early - expected_ratio) < 5 * sd
    stopped = load_scenario(base, _phase(july, **{"behaviours.jaywalking.rate_per_year": 0.0}))
    day = _state(stopped).events
    assert np.count_nonzero((day.behaviour == index) & (day.day >= july_day)) == 0
    assert np.count_nonzero((day.behaviour == index) & (day.day < july_day)) > 100


def test_a_list_takes_entries_only_while_in_force():
    opened = datetime.date(2018, 3, 1)
    scenario = load_scenario(
        "national-2018",
        {
            "policies": [{"name": "debtors", "in_force": False}],
            **_phase(opened, **{"policies.debtors.in_force": True}),
        },
    )
    entries = _state(scenario).listed.recorded["debtors"]
    assert entries.size > 0
    assert int(entries.start.min()) >= (opened - datetime.date(2018, 1, 1)).days


def test_a_sanction_scoped_to_regions_reaches_only_their_citizens():
    scenario = load_scenario("national-2018")
    region = scenario.regions[0].name
    scoped = _state(
        load_scenario(scenario, {"sanctions": [{"name": "flight_ban", "regions": [region]}]})
    )
    spans = scoped.sanctioned.recorded["flight_ban"]
    assert spans.size > 0
    assert set(np.unique(scoped.pop.region[spans.person]).tolist()) == {0}
    assert scoped.sanctioned.recorded["train_ban"].size > spans.size  # others everywhere


def test_outputs_carry_dates_and_yearly_counts_add_up(tmp_path):
    scenario = load_scenario(
        "national-2018",
        {
            "run": {
                "start_date": datetime.date(2016, 7, 1),
                "report_from": datetime.date(2017, 1, 1),
            }
        },
    )
    result = creditsim.run(scenario, population=3000, years=2.0, out=tmp_path / "run")
    series = pq.read_table(tmp_path / "run" / "timeseries.parquet").to_pandas()
    first = np.datetime64("2016-07-01")
    np.testing.assert_array_equal(
        series["date"].to_numpy().astype("datetime64[D]"), first + series["day"].to_numpy()
    )
    audit = json.loads((tmp_path / "run" / "audit.json").read_text())
    years = audit["by_year"]
    assert list(years) == ["2016", "2017", "2018"]
    assert years["2016"]["history"] and not years["2017"]["history"]
    assert [years[y]["days"] for y in years] == [184, 365, 181]
    flight = audit["overall"]["sanctions"]["flight_ban"]
    denied = sum(years[y]["sanctions"]["flight_ban"]["denied_purchases"] for y in years)
    assert denied == flight["denied_purchases"]
    interest = audit["period_of_interest"]
    assert interest["first"] == "2017-01-01" and interest["days"] == 730 - 184
    assert interest["sanctions"]["flight_ban"]["denied_purchases"] == denied - sum(
        years["2016"]["sanctions"]["flight_ban"]["denied_purchases"] for _ in [0]
    )
    assert result.audit()["by_year"] == years
    frame = result.by_year()
    row = frame[(frame["year"] == 2017) & (frame["name"] == "flight_ban")].iloc[0]
    assert row["denied_purchases"] == years["2017"]["sanctions"]["flight_ban"]["denied_purchases"]
    assert row["people_at_1_4_billion"] == round(row["people"] * 1.4e9 / 3000)
    assert not row["history"] and frame[frame["year"] == 2016]["history"].all()


def test_the_command_line_shows_the_years_of_a_run_over_several(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", "national-2018", "-n", "2000", "--years", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "by calendar year, at 1.4 billion" in result.output
    assert "2019" in result.output and "flight_ban" in result.output


def test_constant_rules_settle_to_a_steady_state():
    """A ban of two years triggered by a record, at constant rates (cameras not growing): the
    people under it on a year's last day grow over the first two years, then stay (within 5 sd
    of a Poisson count): bans expire as fast as they start."""
    ban = {"name": "steady_ban", "duration_days": 730,
           "trigger": {"record_behaviours": ["jaywalking"]}}  # fmt: skip
    base = load_scenario("national-2018")
    still = [{"name": r.name, "camera_growth_per_year": 0.0} for r in base.regions]  # constant
    scenario = load_scenario(
        base,
        {"response": {"enabled": False}, "appeals": {"enabled": False}, "sanctions": [ban],
         "regions": still},
    )  # fmt: skip
    state = _state(scenario, days=4 * 365)
    spans = state.sanctioned.recorded["steady_ban"]
    stocks = []
    for _, _first, end in year_starts(datetime.date(2018, 1, 1), 4 * 365):
        under = (spans.start < end) & (spans.end >= end)
        stocks.append(np.unique(spans.person[under]).size)
    assert stocks[0] < stocks[1] - 5 * np.sqrt(stocks[1])
    assert abs(stocks[3] - stocks[2]) < 5 * np.sqrt(stocks[2] + stocks[3])
    assert abs(stocks[2] - stocks[1]) < 5 * np.sqrt(stocks[1] + stocks[2])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timeline": [{"date": datetime.date(2017, 1, 1), "set": {"appeals.enabled": True}}]},
         "must come after the run's start_date"),
        ({"timeline": [{"date": SWITCH, "set": {"run.years": 3.0}}]},
         "cannot change during a run; a phase may set"),
        ({"timeline": [{"date": SWITCH, "set": {"groups.majority.share": 0.5}}]},
         "cannot change during a run"),
        ({"timeline": [{"date": SWITCH, "set": {"sanctions.flight_ban.duration_days": -1}}]},
         "timeline[0] (2018-05-01): `sanctions.flight_ban.duration_days` = -1: field `sanctions[flight_ban].duration_days`"),  # noqa: E501
        ({"timeline": [{"date": SWITCH, "set": {"sanctions.nothing.in_force": True}}]},
         "no entry named 'nothing'"),
        ({"timeline": [{"date": "May 2018", "set": {"appeals.enabled": True}}]},
         "is not a date; a date must be written YYYY-MM-DD"),
        ({"run": {"report_from": datetime.date(2017, 1, 1)}}, "is before the run's start_date"),
        ({"sanctions": [{"name": "flight_ban", "regions": ["atlantis"]}]}, "unknown names"),
    ],
)  # fmt: skip
def test_bad_timelines_are_refused_with_one_message(change, message):
    with pytest.raises(ScenarioError, match=None) as caught:
        load_scenario("national-2018", change)
    assert message in str(caught.value)


def test_a_bad_timeline_on_the_command_line_exits_2_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'extends = "national-2018"\n[[timeline]]\ndate = 2018-05-01\nset = { "run.seed" = 3 }\n'
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--population", "1000", "--out", str(out)])
    assert result.exit_code == 2
    assert "cannot change during a run" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_no_timeline_is_one_phase_and_phases_after_the_end_never_apply():
    scenario = load_scenario("national-2018")
    assert resolve(scenario).constant
    later = load_scenario(
        scenario, _phase(datetime.date(2030, 1, 1), **{"sanctions.flight_ban.in_force": False})
    )
    assert not resolve(later).constant and resolve(later).within(365).constant


def test_a_scenario_that_extends_another_adds_to_its_timeline_and_assumptions():
    """Phases merge by date (same date: settings added) and stay in order; assumptions merge by
    path, so a child restates one range without repeating the others."""
    parent = load_scenario("national-2013-2020")
    child = load_scenario(
        parent,
        {
            "timeline": [
                {"date": datetime.date(2016, 1, 1), "set": {"appeals.enabled": False}},
                {"date": datetime.date(2018, 5, 1), "set": {"appeals.delay_days": 30}},
            ],
            "assumptions": [
                {"path": "appeals.success_rate_wrongful", "low": 0.1, "high": 0.5, "why": "x"}
            ],
        },
    )
    dates = [p.date for p in child.timeline]
    assert dates == sorted(dates) and len(dates) == len(parent.timeline) + 1
    may = next(p for p in child.timeline if p.date == datetime.date(2018, 5, 1))
    inherited = next(p for p in parent.timeline if p.date == datetime.date(2018, 5, 1))
    assert may.set == {**inherited.set, "appeals.delay_days": 30}
    assert len(child.assumptions) == len(parent.assumptions)
    restated = next(a for a in child.assumptions if a.path == "appeals.success_rate_wrongful")
    assert (restated.low, restated.high) == (0.1, 0.5)


def test_an_empty_list_clears_inherited_assumptions_and_phases():
    parent = load_scenario("national-2018")
    assert parent.assumptions
    assert load_scenario(parent, {"assumptions": []}).assumptions == []


def test_points_change_on_their_day():
    """A jaywalking record costs 50 points from 1 July: the national score's steps from records
    before are the scenario's own points, those after the new ones (exact)."""
    july = datetime.date(2018, 7, 1)
    july_day = (july - datetime.date(2018, 1, 1)).days
    base = load_scenario("national-2018", {"response": {"enabled": False}})
    index = [b.name for b in base.behaviours].index("jaywalking")
    own = next(b.points for b in base.behaviours if b.name == "jaywalking")
    changed = load_scenario(base, _phase(july, **{"behaviours.jaywalking.points": -50}))
    state = _state(changed)
    rule = next(r for r in state.score_rules if r.policy.name == "national")
    day = np.array([july_day - 1, july_day, july_day + 100])
    kind = np.full(3, index)
    np.testing.assert_array_equal(rule.points(day, kind), [own, -50, -50])
    # The final scores differ from the unchanged scenario's only for those with such records.
    same = _state(base)
    moved = state.ledgers["national"].score != same.ledgers["national"].score
    late = state.records.subject[(state.records.kind == index) & (state.records.day >= july_day)]
    assert moved.any() and set(np.flatnonzero(moved)) <= set(late.tolist())
