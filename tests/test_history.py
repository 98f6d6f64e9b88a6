"""History: national-2013-2020 runs from the debtors' list's start, reports 2018 on apart,
settles when nothing changes, is the same whatever the workers; cameras counted from a date;
a city's pilot scoped to its regions."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import creditsim
from creditsim.channels.cameras import coverage_table
from creditsim.engine.pipeline import PIPELINE
from creditsim.engine.state import ShardState
from creditsim.scenario import load_scenario

HISTORY = "national-2013-2020"
POPULATION, SHARD = 6_000, 2_000  # three shards


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("history") / "run"
    creditsim.run(HISTORY, population=POPULATION, shard_size=SHARD, seed=5, out=folder)
    return folder


def _outputs(folder: Path) -> dict[str, bytes]:
    names = ["audit.json", "timeseries.parquet", "plan.json"]
    names += [f"citizens/part-{i:05d}.parquet" for i in range(3)]
    return {name: (folder / name).read_bytes() for name in names}


def test_a_history_run_is_byte_identical_whatever_the_workers(in_process, tmp_path):
    folder = tmp_path / "run"
    creditsim.run(HISTORY, population=POPULATION, shard_size=SHARD, seed=5, out=folder, workers=2)
    assert _outputs(folder) == _outputs(in_process)


def test_the_history_is_reported_apart_and_the_bans_follow_the_calendar(in_process):
    audit = json.loads((in_process / "audit.json").read_text())
    years = audit["by_year"]
    assert list(years) == [str(y) for y in range(2013, 2021)]
    assert [years[y]["history"] for y in years] == [True] * 5 + [False] * 3
    assert audit["period_of_interest"]["first"] == "2018-01-01"
    flight = {int(y): years[y]["sanctions"]["flight_ban"] for y in years}
    debtors = {int(y): years[y]["lists"]["debtors"] for y in years}
    # The list opens in October 2013; travel bans begin with the early trials of mid-2015.
    assert debtors[2013]["started"] > 0 and flight[2013]["people"] == flight[2014]["people"] == 0
    assert flight[2015]["people"] > 0
    # 2018's stock of the banned was carried over from the history.
    assert flight[2018]["people"] > flight[2018]["started"]


def test_the_history_settles_when_nothing_changes(tmp_path):
    """After the last phase (May 2018) nothing changes: the people on the debtors' list and
    under a flight ban on the last day of 2019 and of 2020 agree within 5 sd (Poisson counts),
    as entries are paid off and bans expire."""
    folder = tmp_path / "run"
    creditsim.run(HISTORY, population=40_000, seed=2, out=folder, citizen_rows="none")
    years = json.loads((folder / "audit.json").read_text())["by_year"]
    for kind, name in (("lists", "debtors"), ("sanctions", "flight_ban")):
        a, b = (years[y][kind][name]["at_end"] for y in ("2019", "2020"))
        assert a > 50 and abs(a - b) < 5 * np.sqrt(a + b), (name, a, b)


def test_green_lanes_fire_over_the_years(in_process):
    """AA (730) lies out of reach in national-2018's single year; over years of point-earning
    acts some citizens reach it (0.05 to 2 per cent by 2020, a plausible range)."""
    audit = json.loads((in_process / "audit.json").read_text())
    lane = audit["by_year"]["2020"]["sanctions"]["green_lane"]["people"]
    assert 0.0005 * POPULATION < lane < 0.02 * POPULATION


def test_cameras_are_counted_from_their_date():
    """Cameras counted on 1 January 2018 and growing 0.77 a year: exactly the density on that
    day, and (1.77)² times it two years on."""
    scenario = load_scenario(
        "national-2018",
        {
            "run": {"start_date": datetime.date(2016, 1, 1)},
            "regions": [{"name": "east", "cameras_from": datetime.date(2018, 1, 1)}],
        },
    )
    per_camera = scenario.channels.camera.coverage_per_camera_per_1000
    east = [r.name for r in scenario.regions].index("east")
    table = coverage_table(scenario, 5 * 365)
    day = (datetime.date(2018, 1, 1) - datetime.date(2016, 1, 1)).days
    density = scenario.regions[east].cameras_per_1000
    assert table[east, day] == pytest.approx(-np.expm1(-per_camera * density), rel=1e-12)
    later = density * 1.77**2.0
    assert table[east, day + 730] == pytest.approx(-np.expm1(-per_camera * later), rel=1e-12)
    assert table[east, 0] < table[east, day]


def test_a_score_policy_scoped_to_a_region_scores_only_its_citizens():
    scenario = load_scenario(
        "national-2018", {"policies": [{"name": "national", "regions": ["west"]}]}
    )
    state = ShardState(scenario, 4000, 365, 3, 0, 0, True, sys.modules["numpy"])
    for s in PIPELINE:
        if s.enabled(scenario):
            s.run(state)
    west = [r.name for r in scenario.regions].index("west")
    rule = next(r for r in state.score_rules if r.policy.name == "national")
    score = state.ledgers["national"].score
    outside = state.pop.region != west
    np.testing.assert_array_equal(score[outside], rule.start[outside])
    assert np.any(score[~outside] != rule.start[~outside])


@pytest.mark.parametrize(
    ("preset", "sanction", "city"),
    [
        ("rongcheng-in-national", "rongcheng_green_lane", "rongcheng"),
        ("xiamen-caller", "caller_message", "xiamen"),
        ("shenzhen-screens", "public_screen", "shenzhen"),
    ],
)
def test_a_city_pilot_reaches_only_its_citizens(tmp_path, preset, sanction, city):
    result = creditsim.run(preset, population=8_000, seed=1, out=tmp_path / "run")
    rows = result.to_frame()
    inside = (rows["region"] == city).to_numpy()
    assert inside.sum() > 30  # the city's citizens are there
    assert (rows.loc[~inside, f"days_{sanction}"] == 0).all()
    if sanction == "public_screen":  # frequent enough to be sure of at this size
        assert (rows.loc[inside, f"days_{sanction}"] > 0).sum() > 5


def test_the_blacklist_dates_its_entries_from_the_run_start(tmp_path):
    from creditsim.web import blacklist as bl

    result = creditsim.run(HISTORY, population=3000, seed=2, out=tmp_path / "run")
    frame = bl.normalise(result.blacklist())
    start = result.scenario.run.start_date
    shown = bl.page(frame, seed=2, days=int(result.manifest["days"]), day_zero=start)
    assert shown["rows"]
    for row in shown["rows"]:
        day = datetime.date.fromisoformat(row["published"])
        assert start <= day < datetime.date(2021, 1, 1)
    assert bl.date_of(0, start) == "2013-01-01"
