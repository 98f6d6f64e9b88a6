"""The run directory: manifest, per-citizen table, time series; and atomic writes."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import creditsim
from creditsim import outputs
from creditsim.arrays.streams import stream
from creditsim.behaviours import draw_events
from creditsim.channels import observe
from creditsim.policies.lists import ListRule
from creditsim.policies.scores import run_ledger, score_rule
from creditsim.population import build_population
from creditsim.response import respond
from creditsim.sanctions import impose
from creditsim.scenario import Scenario, scenario_hash

POPULATION, SEED = 20_000, 3
SANCTIONS = ("flight_ban", "train_ban", "blacklist")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs") / "run"
    result = creditsim.run("national-2018", population=POPULATION, seed=SEED, out=out)
    return result, out


@pytest.fixture(scope="module")
def citizens(written):
    return pq.read_table(written[1] / "citizens" / "part-00000.parquet").to_pandas()


@pytest.fixture(scope="module")
def timeseries(written):
    return pq.read_table(written[1] / "timeseries" / "part-00000.parquet").to_pandas()


def test_manifest(written):
    result, out = written
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == SEED
    assert manifest["creditsim_version"] == creditsim.__version__
    assert manifest["population"] == POPULATION
    assert manifest["days"] == 365
    resolved = Scenario.model_validate(manifest["scenario"])
    assert resolved == result.scenario
    assert resolved.run.seed == SEED and resolved.run.population == POPULATION
    assert manifest["scenario_hash"] == scenario_hash(resolved)
    assert re.fullmatch(r"[0-9a-f]{16}", manifest["scenario_hash"])
    timings = manifest["timings_seconds"]
    assert {"population", "behaviours", "outputs"} <= set(timings)
    assert all(isinstance(v, int | float) and v >= 0 for v in timings.values())
    assert manifest["total_seconds"] >= 0
    files = manifest["files"]
    for path in [*files["citizens"], *files["timeseries_by_shard"], files["timeseries"]]:
        assert (out / path).is_file()
    assert (out / manifest["files"]["audit"]).is_file()


def test_audit_file_is_the_results_audit(written):
    result, out = written
    assert json.loads((out / "audit.json").read_text()) == json.loads(json.dumps(result.audit()))


def test_citizen_table(written, citizens):
    result, _ = written
    scenario = result.scenario
    assert len(citizens) == POPULATION
    assert citizens["citizen"].tolist() == list(range(POPULATION))
    categories = sorted({b.category for b in scenario.behaviours})
    expected = {
        "region",
        "group",
        "household",
        "wrongful_records",
        "score_national",
        "grade_national",
        "any_wrongful",
        "children_affected",
        "true_offences",
    }
    expected |= {f"true_{c}" for c in categories} | {f"recorded_{c}" for c in categories}
    expected |= {f"days_{s}" for s in SANCTIONS} | {f"wrongful_{s}" for s in SANCTIONS}
    missing = expected - set(citizens.columns)
    assert not missing
    assert set(citizens["region"].astype(str)) <= {r.name for r in scenario.regions}
    assert set(citizens["group"].astype(str)) <= {g.name for g in scenario.groups}
    assert set(citizens["grade_national"].astype(str)) <= {
        band.grade for band in scenario.policy.grades
    }
    policy = scenario.policy
    assert citizens["score_national"].between(policy.minimum, policy.maximum).all()
    # The grade is the band of the score.
    floors = {band.grade: band.min_score for band in policy.grades}
    grade_floor = citizens["grade_national"].astype(str).map(floors)
    assert (citizens["score_national"] >= grade_floor).all()
    for name in SANCTIONS:
        assert citizens[f"days_{name}"].between(0, 365).all()
    # Households are contiguous runs of citizens.
    assert (np.diff(citizens["household"].to_numpy()) >= 0).all()
    overall = result.audit()["overall"]
    assert (
        int(citizens[[f"true_{c}" for c in categories]].to_numpy().sum()) == overall["true_events"]
    )


def test_to_frame(written, citizens):
    result, _ = written
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == POPULATION == result.scenario.run.population
    pd.testing.assert_frame_equal(frame, citizens)


def test_timeseries_shape(written, timeseries):
    result, _ = written
    scenario = result.scenario
    periods = math.ceil(365 / scenario.run.timeseries_every_days)
    cells = len(scenario.regions) * len(scenario.groups)
    assert len(timeseries) == periods * cells
    keys = timeseries[["period", "region", "group"]].astype(str)
    assert not keys.duplicated().any()
    assert set(timeseries["period"]) == set(range(periods))
    for column in (
        "events",
        "records",
        "score_national_p50",
        *(f"{s}_started" for s in SANCTIONS),
        *(f"{s}_active" for s in SANCTIONS),
    ):
        assert column in timeseries.columns, column


def test_timeseries_sums_match_the_audit(written, timeseries, citizens):
    result, _ = written
    overall = result.audit()["overall"]
    assert int(timeseries["events"].sum()) == overall["true_events"]
    assert int(timeseries["records"].sum()) == overall["records"]
    for name in SANCTIONS:
        started = int(timeseries[f"{name}_started"].sum())
        # Every sanctioned citizen starts at least one interval.
        assert started >= overall["sanctions"][name]["sanctioned"] > 0
    by_group = timeseries.groupby(timeseries["group"].astype(str), observed=True)["events"].sum()
    for group, metrics in result.audit()["by_group"].items():
        in_group = citizens["group"].astype(str) == group
        true_columns = [
            c for c in citizens.columns if c.startswith("true_") and c != "true_offences"
        ]
        assert int(by_group.get(group, 0)) == int(
            citizens.loc[in_group, true_columns].to_numpy().sum()
        )
        assert metrics["citizens"] == int(in_group.sum())


@pytest.fixture(scope="module")
def intervals(written):
    """The sanction intervals of the run, rebuilt stage by stage from the same seed."""
    scenario = written[0].scenario
    days = 365
    pop = build_population(scenario, POPULATION, stream(SEED, 0, "population"))
    events = respond(scenario, pop, draw_events(scenario, pop, days, SEED, 0), SEED, 0)
    records = observe(scenario, pop, events, days, SEED, 0)
    rule = score_rule(scenario, scenario.policy, pop, SEED, 0)
    ledger = run_ledger(rule, records.day, records.subject, records.kind, days)
    changes = {scenario.policy.name: ledger.changes}
    lists = {
        p.name: ListRule(scenario, p, pop.income_band, SEED, 0).entries(
            records.day, records.subject, records.kind
        )
        for p in scenario.list_policies
    }
    sanctions = impose(scenario, changes, lists, records.day, records.subject, records.kind, days)
    return pop, sanctions


def test_started_and_active_sanctions_per_period(written, timeseries, intervals, citizens):
    scenario = written[0].scenario
    pop, sanctions = intervals
    period = scenario.run.timeseries_every_days
    periods = math.ceil(365 / period)
    groups = len(scenario.groups)
    cells = len(scenario.regions) * groups
    region_index = {r.name: i for i, r in enumerate(scenario.regions)}
    group_index = {g.name: i for i, g in enumerate(scenario.groups)}
    row = (
        timeseries["period"].to_numpy() * cells
        + timeseries["region"].astype(str).map(region_index).to_numpy() * groups
        + timeseries["group"].astype(str).map(group_index).to_numpy()
    )
    cell = pop.region.astype(np.int64) * groups + pop.group
    ends = np.minimum((np.arange(periods) + 1) * period, 365) - 1
    for name in SANCTIONS:
        spell = sanctions[name]
        assert spell.size > 0
        np.testing.assert_array_equal(
            np.bincount(spell.person, weights=spell.days_within(365), minlength=pop.size),
            citizens[f"days_{name}"].to_numpy(),
        )
        started = np.bincount(
            (spell.start // period) * cells + cell[spell.person], minlength=periods * cells
        )
        assert int(timeseries[f"{name}_started"].sum()) == spell.size
        np.testing.assert_array_equal(timeseries[f"{name}_started"].to_numpy(), started[row])
        live = (spell.start[None, :] <= ends[:, None]) & (ends[:, None] < spell.end[None, :])
        active = np.zeros((periods, cells), dtype=np.int64)
        for p in range(periods):
            active[p] = np.bincount(cell[spell.person[live[p]]], minlength=cells)
        np.testing.assert_array_equal(
            timeseries[f"{name}_active"].to_numpy(), active.reshape(-1)[row]
        )


def test_last_median_score_is_the_median_of_final_scores(written, timeseries, citizens):
    last = timeseries[timeseries["period"] == timeseries["period"].max()]
    checked = 0
    for _, entry in last.iterrows():
        scores = citizens.loc[
            (citizens["region"].astype(str) == str(entry["region"]))
            & (citizens["group"].astype(str) == str(entry["group"])),
            "score_national",
        ].to_numpy()
        if scores.size == 0:
            continue
        # The lower median: the smallest score with at least half the cell at or below it.
        lower_median = np.sort(scores)[math.ceil(scores.size / 2) - 1]
        assert entry["score_national_p50"] == lower_median
        checked += 1
    assert checked >= 10


# --- atomic writes -------------------------------------------------------------------------


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_write_parquet_failure_leaves_nothing(tmp_path, monkeypatch):
    def broken(table, where, **kwargs):
        with open(where, "wb") as handle:  # a half-written file, then the writer dies
            handle.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    target = tmp_path / "sub" / "part-00000.parquet"
    with pytest.raises(OSError, match="disk full"):
        outputs.write_parquet(pa.table({"x": [1, 2, 3]}), target)
    assert not target.exists()
    assert _leftovers(target.parent) == []


def test_write_parquet_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "part-00000.parquet"
    outputs.write_parquet(pa.table({"x": [1, 2, 3]}), target)
    before = target.read_bytes()

    def broken(table, where, **kwargs):
        raise RuntimeError("writer failed")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(RuntimeError):
        outputs.write_parquet(pa.table({"x": [4]}), target)
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == ["part-00000.parquet"]


def test_write_json_failure_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "audit.json"
    with pytest.raises(TypeError):
        outputs.write_json({"x": object()}, target)
    assert _leftovers(tmp_path) == []

    def broken_replace(source, destination):
        raise OSError("rename failed")

    monkeypatch.setattr(outputs.os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename failed"):
        outputs.write_json({"x": 1}, target)
    assert _leftovers(tmp_path) == []


def test_write_json_round_trips(tmp_path):
    target = tmp_path / "deep" / "manifest.json"
    outputs.write_json({"b": 1, "a": [1.5, "x"]}, target)
    assert json.loads(target.read_text()) == {"a": [1.5, "x"], "b": 1}
    assert _leftovers(target.parent) == ["manifest.json"]


def test_out_that_is_a_file_is_refused(tmp_path):
    from creditsim.errors import OutputError

    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(OutputError):
        creditsim.run("national-2018", population=1000, out=path)
    assert path.read_text() == "x"
