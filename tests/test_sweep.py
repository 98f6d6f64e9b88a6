"""Sweeps: paths into the scenario, the design (grid, Latin hypercube), and rows that are the
single runs with the same settings, in one process or on Dask."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_scenarios import _assert_user_error, cli

import creditsim
from creditsim import ScenarioError, WorkflowError, catalogue, load_scenario
from creditsim.workflow import flatten_audit, latin_hypercube, override_for, parse_settings
from creditsim.workflow.sweep import parse_value

POPULATION = 3_000
GRID = {"policies.national.start": [680, 700], "channels.camera.fpir_reference": [0.001, 0.002]}


@pytest.fixture(scope="module")
def national() -> creditsim.Scenario:
    return load_scenario("national-2018")


@pytest.fixture(scope="module")
def grid_sweep() -> creditsim.SweepResult:
    return creditsim.sweep("national-2018", grid=GRID, seeds=2, population=POPULATION)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_sweep_rows_equal_single_runs(grid_sweep):
    table = grid_sweep.to_frame()
    assert len(table) == 4 * 2
    assert list(table.columns[:4]) == ["point", "seed", *GRID]
    for row in table.to_dict(orient="records"):
        override = {
            "policies": [{"name": "national", "start": row["policies.national.start"]}],
            "channels": {"camera": {"fpir_reference": row["channels.camera.fpir_reference"]}},
        }
        single = creditsim.run(
            load_scenario("national-2018", override),
            population=POPULATION,
            seed=row["seed"],
            catalogue=False,
        )
        expected = flatten_audit(single.audit())
        assert all(_same(row[name], value) for name, value in expected.items()), row["point"]
    # The points are the grid's product, every point on the same seeds.
    points = table.groupby("point")[list(GRID)].first().to_dict(orient="records")
    assert points == [
        {"policies.national.start": start, "channels.camera.fpir_reference": fpir}
        for start in (680, 700)
        for fpir in (0.001, 0.002)
    ]
    assert table.groupby("point")["seed"].apply(list).tolist() == [[0, 1]] * 4


def test_sweep_summary_and_catalogue(grid_sweep):
    summary = grid_sweep.summary()
    assert len(summary) == 4
    first = grid_sweep.table[grid_sweep.table["point"] == 0]
    assert summary.loc[0, "sanctions.any.sanctioned"] == first["sanctions.any.sanctioned"].mean()
    entry = catalogue.show_run(grid_sweep.catalogue_id)
    assert entry["kind"] == "sweep" and entry["status"] == "complete"
    assert entry["settings"]["grid"] == GRID and entry["metrics"]["runs"] == 8
    parent = grid_sweep.catalogue_id
    runs = catalogue.query(f"SELECT seed FROM runs WHERE parent = {parent}").to_pylist()
    assert sorted(row["seed"] for row in runs) == [0] * 4 + [1] * 4


def test_sweep_on_dask_equals_in_process():
    grid = {"channels.camera.fpir_reference": [0.001, 0.002]}
    here = creditsim.sweep("national-2018", grid=grid, population=2_000, catalogue=False)
    dask = creditsim.sweep("national-2018", grid=grid, population=2_000, workers=2, catalogue=False)
    pd.testing.assert_frame_equal(here.table, dask.table)


# ----------------------------------------------------------------------------- paths and values


def test_paths_become_overrides(national):
    override = override_for(
        national,
        {
            "channels.camera.fpir_reference": 0.001,
            "channels.camera.fpir_multiplier_by_group.minority-b": 3.0,
            "sanctions.flight_ban.duration_days": 180,
            "sanctions.train_ban.trigger.grade_at_or_below": "C",
            "sanctions.flight_ban.appealable": False,
            "policies.national.start": 680,
        },
    )
    assert override == {
        "channels": {
            "camera": {"fpir_reference": 0.001, "fpir_multiplier_by_group": {"minority-b": 3.0}}
        },
        "sanctions": [
            {"name": "flight_ban", "duration_days": 180, "appealable": False},
            {"name": "train_ban", "trigger": {"grade_at_or_below": "C"}},
        ],
        "policies": [{"name": "national", "start": 680}],
    }
    changed = load_scenario(national, override)
    flight = next(s for s in changed.sanctions if s.name == "flight_ban")
    assert flight.duration_days == 180 and not flight.appealable
    assert flight.trigger == next(s for s in national.sanctions if s.name == "flight_ban").trigger
    assert changed.policy.start == 680 and len(changed.sanctions) == len(national.sanctions)
    # `policy` is the primary score policy, as in scenario files.
    primary = load_scenario(national, override_for(national, {"policy.start": 690})).policy
    assert primary.name == "national" and primary.start == 690


@pytest.mark.parametrize(
    ("path", "fragments"),
    [
        ("channels.camra.fpir_reference", ["field `channels.camra`", "allowed: camera, plate"]),
        ("sanctions.flight_bam.duration_days", ["no entry named 'flight_bam'", "flight_ban"]),
        ("sanctions.flight_ban", ["whole entry"]),
        ("policies.national.grades.A", ["`policies.national.grades`", "without names"]),
        ("sanctions.flight_ban.duration_days.x", ["is a value (365)"]),
        ("nonsense", ["field `nonsense`: unknown field", "allowed: name, description"]),
    ],
)
def test_bad_paths_name_the_field_and_what_is_allowed(national, path, fragments):
    with pytest.raises(ScenarioError) as error:
        override_for(national, {path: 1})
    for fragment in fragments:
        assert fragment in str(error.value)


def test_values_are_toml_scalars():
    assert [parse_value(v) for v in ("3", "0.5", "1e-3", "true", "largest", '"a,b"')] == [
        3,
        0.5,
        0.001,
        True,
        "largest",
        "a,b",
    ]
    grid, ranges = parse_settings(["a.b=1,2", "c.d=0.1:0.5", "e=x"], lhs=4)
    assert grid == {"a.b": [1, 2], "e": ["x"]} and ranges == {"c.d": (0.1, 0.5)}
    for bad, fragment in [
        (["a.b"], "expected path.to.field="),
        (["a.b="], "expected path.to.field="),
        (["a=1", "a=2"], "given twice"),
        (["a=1,,2"], "an empty value"),
        (["a=0:1"], "needs --lhs"),
    ]:
        with pytest.raises(WorkflowError, match=fragment):
            parse_settings(bad)


def test_every_point_is_checked_before_anything_runs():
    ran = []
    with pytest.raises(ScenarioError) as error:
        creditsim.sweep(
            "national-2018",
            grid={"channels.camera.fpir_reference": [0.001, 5]},
            population=2_000,
            progress=lambda *step: ran.append(step),
        )
    assert "channels.camera.fpir_reference=5" in str(error.value)
    assert "field `channels.camera.fpir_reference`" in str(error.value)
    assert ran == []
    for arguments, fragment in [
        ({"grid": {"run.seed": [1, 2]}}, "the seeds are the replicates"),
        ({"grid": {}}, "nothing to sweep"),
        ({"ranges": {"policy.start": (650, 700)}}, "need --lhs"),
        ({"grid": {"policy.start": [700]}, "lhs": 3}, "give the ranges"),
        ({"grid": {"policy.start": [700]}, "seeds": 0}, "--seeds 0"),
    ]:
        with pytest.raises(WorkflowError, match=fragment):
            creditsim.sweep("national-2018", population=2_000, **arguments)


# --------------------------------------------------------------------------- Latin hypercube


def test_latin_hypercube_is_reproducible_and_stratified():
    ranges = {"a": (0.0, 1.0), "b": (10.0, 20.0), "c": (-5.0, 5.0)}
    points = latin_hypercube(ranges, 8, seed=3)
    assert points == latin_hypercube(ranges, 8, seed=3)
    assert points != latin_hypercube(ranges, 8, seed=4)
    for path, (low, high) in ranges.items():
        values = np.array([point[path] for point in points])
        assert ((values >= low) & (values <= high)).all()
        strata = np.floor((values - low) / (high - low) * 8).astype(int)
        assert sorted(strata) == list(range(8)), path  # one point in each stratum
    whole = latin_hypercube({"days": (180, 365)}, 5, seed=0)
    assert all(isinstance(p["days"], int) and 180 <= p["days"] <= 365 for p in whole)


def test_sweep_over_a_latin_hypercube(tmp_path):
    out = tmp_path / "lhs"
    result = creditsim.sweep(
        "national-2018",
        grid={"sanctions.flight_ban.duration_days": [180, 365]},
        ranges={"channels.camera.fpir_reference": (0.001, 0.002)},
        lhs=3,
        seed=5,
        population=2_000,
        citizen_rows="none",
        out=out,
    )
    assert len(result.points) == 2 * 3 and result.seeds == [5]
    drawn = latin_hypercube({"channels.camera.fpir_reference": (0.001, 0.002)}, 3, seed=5)
    assert [p["channels.camera.fpir_reference"] for p in result.points[:3]] == [
        d["channels.camera.fpir_reference"] for d in drawn
    ]
    written = pd.read_parquet(out / "sweep.parquet")
    pd.testing.assert_frame_equal(written, result.table)
    assert (out / "sweep.json").is_file()
    assert len(list((out / "runs").iterdir())) == 6


# ------------------------------------------------------------------------------------ the CLI


def test_cli_sweep(tmp_path):
    out = tmp_path / "sweep"
    done = cli(
        "sweep",
        "national-2018",
        "--set",
        "sanctions.flight_ban.duration_days=180,365",
        "-n",
        "2000",
        "--citizen-rows",
        "none",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "2 points x 1 seeds = 2 runs" in done.stdout
    table = pd.read_parquet(out / "sweep.parquet")
    assert table["sanctions.flight_ban.duration_days"].tolist() == [180, 365]


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--set", "sanctions.flight_bam.duration_days=180"], "no entry named 'flight_bam'"),
        (["--set", "channels.camera.fpir_reference=0.001:0.002"], "needs --lhs"),
        (["--set", "channels.camera.fpir_reference=2"], "less than or equal to 1"),
    ],
)
def test_cli_sweep_bad_input_exits_2(tmp_path, arguments, fragment):
    done = cli("sweep", "national-2018", *arguments, "-n", "2000", "-o", str(tmp_path / "out"))
    _assert_user_error(done, "error:", fragment)
    assert done.stderr.count("error:") == 1
    assert not (tmp_path / "out").exists()


def test_seeds_past_the_largest_are_refused_before_anything_runs(tmp_path):
    """A sweep's seeds run seed .. seed + K - 1: past 2**63 - 1 is refused, naming the limit."""
    with pytest.raises(WorkflowError, match=r"past the largest allowed, 2\*\*63 - 1"):
        creditsim.sweep("national-2018", grid={"policies.national.start": [680, 700]},
                        seeds=2, seed=2**63 - 1, population=POPULATION,
                        out=tmp_path / "out")  # fmt: skip
    assert not (tmp_path / "out").exists()
