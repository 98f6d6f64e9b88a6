"""creditsim uncertainty: the design stays inside the ranges, Morris finds an assumption with no
effect (mu* exactly 0, ranked last) and one with an obvious effect (ranked first), an interval
holds the scenario's own value where the metric is monotone, the output does not depend on the
workers, and bad input is one message, exit status 2, nothing written."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import tomli_w
from typer.testing import CliRunner

import creditsim
from creditsim.cli import app
from creditsim.scenario.assumptions import assumption_ranges
from creditsim.scenario.loading import validate
from creditsim.workflow.uncertainty import (
    FILES,
    design,
    distinct_points,
    headline,
    interval,
    resolve,
    sampling_intervals,
    timeline_notes,
    uncertainty,
)

POPULATION = 3000


def _entry(path: str, low: float, high: float, **more) -> dict:
    return {"path": path, "low": low, "high": high, "why": "a test", **more}


FPIR = _entry("channels.camera.fpir_reference", 0.0005, 0.01, log=True)
FALSE_SHARE = _entry("channels.informant.false_share", 0.02, 0.4)


def _cameras_off(*entries: dict) -> creditsim.Scenario:
    """national-2018 without cameras (the face-match error can change nothing), with these
    ranges and no others."""
    raw = creditsim.load_scenario(
        "national-2018", {"channels": {"camera": {"enabled": False}}}
    ).model_dump(mode="python")
    return validate({**raw, "assumptions": list(entries)}, "scenario 'national-2018'")


@pytest.fixture(scope="module")
def cameras_off() -> creditsim.UncertaintyResult:
    return uncertainty(_cameras_off(FPIR, FALSE_SHARE), samples=4, population=POPULATION, seed=3)


# --- the design ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "samples"), [("morris", 12), ("sobol", 16)])
def test_the_points_drawn_stay_inside_the_ranges(method, samples):
    scenario = creditsim.load_scenario("national-2018")
    ranges = assumption_ranges(scenario)
    unit = design(method, ranges, samples, seed=5)
    dimensions = len(ranges)
    rows = samples * (dimensions + 1 if method == "morris" else dimensions + 2)
    assert unit.shape == (rows, dimensions)
    assert np.all((unit >= 0.0) & (unit <= 1.0))
    points, index = distinct_points(ranges, unit)
    assert len(index) == rows and max(index) == len(points) - 1
    for r in ranges:
        values = [point[r.path] for point in points]
        assert all(r.low <= v <= r.high for v in values), r.path
        if r.whole:
            assert all(isinstance(v, int) for v in values), r.path
        assert len(set(values)) > 1, f"{r.path} never moves"
    # The same seed, the same design; another seed, another.
    assert np.array_equal(unit, design(method, ranges, samples, seed=5))
    assert not np.array_equal(unit, design(method, ranges, samples, seed=6))


def test_a_log_range_is_drawn_evenly_in_its_logarithm():
    scenario = creditsim.load_scenario("national-2018", {"assumptions": [FPIR]})
    ranges = assumption_ranges(scenario)
    points, _ = distinct_points(ranges, design("morris", ranges, 8, seed=1))
    levels = sorted({round(math.log10(p[FPIR["path"]]), 9) for p in points})
    # Morris's four levels, a third of the log range apart: 10**-3.3, ..., 10**-2.
    steps = np.diff(levels)
    assert np.allclose(steps, math.log10(0.01 / 0.0005) / 3)


def test_a_range_the_timeline_sets_again_says_so():
    raw = _cameras_off(FPIR, FALSE_SHARE).model_dump(mode="python")
    raw["timeline"] = [{"date": "2018-07-01", "set": {FALSE_SHARE["path"]: 0.3}}]
    scenario = validate(raw, "scenario 'national-2018'")
    notes = timeline_notes(scenario, assumption_ranges(scenario))
    assert notes == {
        FALSE_SHARE["path"]: "the timeline sets it again from 2018-07-01: the range holds before "
        "that date only"
    }


def test_a_range_over_an_entry_the_scenario_lacks_is_left_out_and_said(tmp_path):
    gone = _entry("regions.nowhere.pooling_share", 0.5, 1.0)
    result = uncertainty(_cameras_off(FPIR, gone), samples=2, population=1000, out=tmp_path / "u")
    assert [r.path for r in result.ranges] == [FPIR["path"]]
    reason = "the scenario has no entry named 'nowhere' in `regions`"
    assert result.left_out == {gone["path"]: reason}
    written = json.loads((tmp_path / "u" / "uncertainty.json").read_text())
    assert written["left_out"] == {gone["path"]: reason}
    assert reason.replace("'", "&#39;").replace("`", "`") in (tmp_path / "u" / FILES[2]).read_text()
    with pytest.raises(
        creditsim.WorkflowError,
        match=r"ranges to draw from \(each names an entry this scenario does not have\)",
    ):
        uncertainty(_cameras_off(gone), samples=2, population=1000)


# --- sensitivity ----------------------------------------------------------------------------------


def test_an_assumption_with_no_effect_ranks_last_with_mu_star_exactly_zero(cameras_off):
    # Cameras are off, so the face-match error changes nothing at all: on the same seed every
    # number is the same whatever its value, and every elementary effect is exactly 0.
    for metric, entry in cameras_off.sensitivity.items():
        if not entry["ranking"]:
            continue  # undefined at some point (a ratio over zero): no indices
        last = entry["ranking"][-1]
        fpir = next(row for row in entry["ranking"] if row["path"] == FPIR["path"])
        assert fpir["mu_star"] == 0.0 and fpir["mu"] == 0.0 and fpir["sigma"] == 0.0, metric
        assert last["mu_star"] == 0.0, metric
    # False reports make wrongful records: the obvious driver, first and above 0.
    ranking = cameras_off.ranking("wrongful_records")
    assert list(ranking["path"]) == [FALSE_SHARE["path"], FPIR["path"]]
    assert ranking["mu_star"].iloc[0] > 0.0
    assert ranking["mu"].iloc[0] > 0.0  # more false reports, more wrongful records


def test_the_result_keeps_every_point_and_each_row_of_the_design(cameras_off):
    result = cameras_off
    assert result.runs == len(result.points) + 1
    assert len(result.design) == 4 * 3  # 4 trajectories of (2 + 1) points
    table = result.to_frame()
    assert list(table["point"]) == list(range(len(result.points)))
    for i, point in enumerate(result.points):
        for path, value in point.items():
            assert table.loc[i, path] == value
    # The scenario's own numbers are a run of the scenario as written, on the same seed.
    own = creditsim.run(
        _cameras_off(FPIR, FALSE_SHARE), population=POPULATION, seed=3, catalogue=False
    )
    numbers = headline(own.audit())
    assert result.scenario_values == pytest.approx(numbers, nan_ok=True)
    # A point at the scenario's own values, drawn as any point is (its audit without the
    # intervals it does not need), has the very same numbers.
    scenario = _cameras_off(FPIR, FALSE_SHARE)
    at_own = resolve(scenario, {FPIR["path"]: 0.002, FALSE_SHARE["path"]: 0.1},
                     {"population": POPULATION, "citizen_rows": "none"})  # fmt: skip
    assert at_own.audit.bootstrap_replicates == 0
    drawn = headline(creditsim.run(at_own, seed=3, catalogue=False).audit())
    assert drawn == pytest.approx(numbers, nan_ok=True)


# --- intervals ------------------------------------------------------------------------------------


def test_an_interval_holds_the_scenario_value_where_the_metric_is_monotone(cameras_off):
    result = cameras_off
    metric, path = "wrongful_records", FALSE_SHARE["path"]
    own_value = 0.1  # national-2018's false share
    drawn = sorted(result.table[path])
    assert drawn[0] < own_value < drawn[-1]  # the scenario's value lies inside what was drawn
    by_value = result.table.sort_values(path)
    assert by_value[metric].is_monotonic_increasing  # the monotone case
    entry = result.intervals[metric]
    assert entry["low"] <= entry["scenario_value"] <= entry["high"]
    assert entry["contains_scenario_value"] is True
    assert entry["low"] == result.table[metric].min()
    assert entry["high"] == result.table[metric].max()
    assert "over the assumption ranges; the scenario as written" in entry["in_words"]


def test_an_interval_says_when_the_scenario_value_lies_outside_it():
    values = np.array([10.0, 12.0, 15.0, math.nan])
    inside = interval("sanctions.any.wrongful", values, 11.0, [5.0, 18.0], None)
    assert (inside["low"], inside["high"], inside["undefined_points"]) == (10.0, 15.0, 1)
    assert inside["contains_scenario_value"] is True
    outside = interval("sanctions.any.wrongful", values, 20.0, None, None)
    assert outside["contains_scenario_value"] is False
    words = interval(
        "by_group.minority-b.any.disparate_impact",
        np.array([1.3, 2.0]),
        1.5,
        [1.1, 2.2],
        "majority",
    )["in_words"]
    assert words == (
        "minority-b sanctioned between 1.30 and 2.00 times as often as majority over the "
        "assumption ranges (outside the 0.80 to 1.25 band at every point); the scenario as "
        "written: 1.50 (95% sampling interval of that one run: 1.10 to 2.20)"
    )


def test_the_sampling_interval_is_that_of_the_one_run_as_written():
    result = creditsim.run("national-2018", population=POPULATION, seed=2, catalogue=False)
    audit = result.audit()
    sampling = sampling_intervals(audit)
    numbers = headline(audit)
    for metric, pair in sampling.items():
        if pair is None:
            continue
        assert pair[0] <= numbers[metric] <= pair[1], metric
    group = next(m for m in sampling if m.endswith("disparate_impact"))
    name = group.split(".")[1]
    expected = audit["by_group"][name]["sanctions"]["any"]["disparate_impact_interval"]
    assert sampling[group] == expected
    # A count of citizens: a Jeffreys interval of its share of everyone, in whole citizens.
    low, high = sampling["sanctions.any.sanctioned"]
    assert low == math.floor(low) and high == math.ceil(high) and low < high


# --- workers and outputs -------------------------------------------------------------------------


def test_the_same_output_with_one_worker_and_with_two(tmp_path):
    scenario = _cameras_off(FPIR, FALSE_SHARE)
    one = uncertainty(scenario, samples=2, population=2000, seed=4, out=tmp_path / "one")
    two = uncertainty(scenario, samples=2, population=2000, seed=4, out=tmp_path / "two", workers=2)
    for name in ("uncertainty.json", "uncertainty.html"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "one" / FILES[1]), pd.read_parquet(tmp_path / "two" / FILES[1])
    )
    assert one.intervals == two.intervals
    written = json.loads((tmp_path / "one" / "uncertainty.json").read_text())
    assert written["method"] == "morris" and written["runs"] == one.runs
    assert len(written["points"]) == len(one.points)
    assert written["sensitivity"]["wrongful_records"]["ranking"][0]["path"] == FALSE_SHARE["path"]
    page = (tmp_path / "one" / "uncertainty.html").read_text()
    assert "over the assumption ranges" in page and "data:image/svg+xml;base64," in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_sobol_gives_first_and_total_indices(tmp_path):
    scenario = _cameras_off(FPIR, FALSE_SHARE)
    result = uncertainty(scenario, method="sobol", samples=4, population=1000, seed=4)
    assert len(result.design) == 4 * (2 + 2)
    ranking = result.ranking("wrongful_records")
    assert list(ranking.columns) == ["rank", "path", "S1", "S1_conf", "ST", "ST_conf"]
    assert ranking["path"].iloc[0] == FALSE_SHARE["path"]
    fpir = ranking.set_index("path").loc[FPIR["path"]]
    assert fpir["ST"] == 0.0 and fpir["S1"] == 0.0


# --- the command line -----------------------------------------------------------------------------


def _cli(*arguments: str):
    return CliRunner().invoke(app, ["uncertainty", *arguments], env={"COLUMNS": "200"})


def _scenario_file(tmp_path, assumptions: str) -> str:
    """A whole scenario file: national-2018 without cameras, with these ranges and no others."""
    path = tmp_path / "mine.toml"
    scenario = _cameras_off().model_dump(mode="json", exclude_none=True, exclude={"assumptions"})
    path.write_text(tomli_w.dumps(scenario) + assumptions, encoding="utf-8")
    return str(path)


def test_the_command_prints_the_intervals_and_what_drives_them(tmp_path):
    scenario = _scenario_file(
        tmp_path,
        '[[assumptions]]\npath = "channels.informant.false_share"\nlow = 0.02\nhigh = 0.4\n'
        'why = "a test"\n',
    )
    out = tmp_path / "out"
    done = _cli(scenario, "-n", "2000", "-k", "2", "-o", str(out), "--seed", "1")
    assert done.exit_code == 0, done.output
    assert "over the ranges" in done.output and "as written" in done.output
    assert "what drives citizens sanctioned wrongfully" in done.output
    assert "channels.informant.false_share" in done.output
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--method", "lhs"], "--method 'lhs': allowed are morris, sobol"),
        (["--samples", "1"], "--samples 1: too few for morris; at least 2 trajectories"),
        (["--method", "sobol", "--samples", "2"], "at least 4 base points"),
        (["--method", "sobol", "--samples", "12"], "a power of 2 base points; allowed: 8 or 16"),
        (["--samples", "0"], "--samples 0: must be a whole number, at least 1"),
        (["--population", "0"], "--population 0: must be a whole number, at least 1"),
    ],
)
def test_bad_options_are_one_message_and_nothing_is_written(tmp_path, arguments, says):
    out = tmp_path / "out"
    done = _cli("national-2018", *arguments, "-o", str(out))
    assert done.exit_code == 2
    assert says in done.output
    assert "Traceback" not in done.output
    assert not out.exists()


def test_a_scenario_without_ranges_or_with_a_bad_one_is_refused(tmp_path):
    out = tmp_path / "out"
    none = _scenario_file(tmp_path, "")
    done = _cli(none, "-o", str(out))
    assert done.exit_code == 2
    assert "no assumption ranges to draw from; give the scenario [[assumptions]]" in done.output
    outside = _scenario_file(
        tmp_path,
        '[[assumptions]]\npath = "channels.court.detect_rate"\nlow = 0.1\nhigh = 0.5\n'
        'why = "a test"\n',
    )
    done = _cli(outside, "-o", str(out))
    assert done.exit_code == 2
    assert (
        f"{outside}: assumptions[0] (channels.court.detect_rate): the scenario's own value 0.8 "
        "lies outside the range [0.1, 0.5]"
    ) in done.output.replace("\n", "")
    assert not out.exists()


def test_a_directory_with_other_files_is_not_written_into(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    done = _cli("national-2018", "-n", "2000", "-k", "2", "-o", str(out))
    assert done.exit_code == 2
    assert "directory is not empty" in done.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
