"""Reproducibility: the same seed gives the same bytes; common random numbers across scenarios."""

from __future__ import annotations

import json

import numpy as np
import pytest

import creditsim

FILES = ("citizens/part-00000.parquet", "timeseries/part-00000.parquet", "audit.json")
TIMING_KEYS = ("timings_seconds", "total_seconds")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs of national-2018: seed 7 twice into separate folders, and seed 8."""
    out = {}
    for label, seed in (("first", 7), ("second", 7), ("other", 8)):
        folder = tmp_path_factory.mktemp(f"run-{label}") / "out"
        creditsim.run("national-2018", population=20_000, seed=seed, out=folder)
        out[label] = folder
    return out


def _manifest_without_timings(folder) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in TIMING_KEYS:
        assert key in manifest
        del manifest[key]
    return manifest


@pytest.mark.parametrize("name", FILES)
def test_same_seed_same_bytes(runs, name):
    first = (runs["first"] / name).read_bytes()
    second = (runs["second"] / name).read_bytes()
    assert len(first) > 0
    assert first == second


def test_same_seed_same_manifest_apart_from_timings(runs):
    assert _manifest_without_timings(runs["first"]) == _manifest_without_timings(runs["second"])


def test_different_seed_different_output(runs):
    name = "citizens/part-00000.parquet"
    assert (runs["first"] / name).read_bytes() != (runs["other"] / name).read_bytes()
    audit_first = json.loads((runs["first"] / "audit.json").read_text())
    audit_other = json.loads((runs["other"] / "audit.json").read_text())
    assert audit_first != audit_other
    assert audit_first["overall"]["true_events"] != audit_other["overall"]["true_events"]
    first = _manifest_without_timings(runs["first"])
    other = _manifest_without_timings(runs["other"])
    assert (first["seed"], other["seed"]) == (7, 8)


def test_in_memory_run_matches_written_run(runs):
    import pyarrow.parquet as pq

    result = creditsim.run("national-2018", population=20_000, seed=7)
    written = pq.read_table(runs["first"] / "citizens/part-00000.parquet")
    assert written.equals(result.citizens)
    audit = json.loads((runs["first"] / "audit.json").read_text())
    assert audit == json.loads(json.dumps(result.audit()))


# --- common random numbers -------------------------------------------------------------------

POPULATION, SEED = 50_000, 11


@pytest.fixture(scope="module")
def paired():
    national_off = creditsim.load_scenario("national-2018", {"response": {"enabled": False}})
    return {
        "national_off": creditsim.run(national_off, population=POPULATION, seed=SEED),
        "national_on": creditsim.run("national-2018", population=POPULATION, seed=SEED),
        "none": creditsim.run("no-system", population=POPULATION, seed=SEED),
    }


def _true_columns(frame):
    columns = [c for c in frame.columns if c.startswith("true_")]
    assert "true_offences" in columns and len(columns) >= 5
    return columns


def test_common_random_numbers_without_response(paired):
    national = paired["national_off"].to_frame()
    none = paired["none"].to_frame()
    columns = _true_columns(national)
    assert columns == _true_columns(none)
    for column in columns:
        np.testing.assert_array_equal(national[column].to_numpy(), none[column].to_numpy(), column)
    # The same people too, not only the same counts.
    for column in ("household", "age_band", "income_band", "region", "group"):
        assert national[column].equals(none[column]), column
    events_national = paired["national_off"].audit()["overall"]["events_by_behaviour"]
    events_none = paired["none"].audit()["overall"]["events_by_behaviour"]
    assert events_national == events_none
    assert sum(events_none.values()) > 100_000
    # The system itself did act in the paired run.
    assert paired["national_off"].audit()["overall"]["records"] > 0
    assert paired["none"].audit()["overall"]["records"] == 0


def test_deterrence_thins_offences_and_gaming_adds_merits(paired):
    scenario = paired["national_on"].scenario
    on = paired["national_on"].audit()["overall"]["events_by_behaviour"]
    none = paired["none"].audit()["overall"]["events_by_behaviour"]
    assert on.keys() == none.keys()
    offences = [b.name for b in scenario.behaviours if b.offence]
    merits = [b.name for b in scenario.behaviours if not b.offence]
    for name in offences:
        assert on[name] <= none[name], name
    assert sum(on[n] for n in offences) < sum(none[n] for n in offences)
    # Acts that are not offences are never deterred; done for the points, they only add up.
    for name in merits:
        assert on[name] >= none[name], name
    assert sum(on[n] for n in merits) > sum(none[n] for n in merits)

    frame_on = paired["national_on"].to_frame()
    frame_none = paired["none"].to_frame()
    for column in _true_columns(frame_on):
        on_counts = frame_on[column].to_numpy()
        none_counts = frame_none[column].to_numpy()
        if column == "true_merit":
            assert (on_counts >= none_counts).all(), column
        else:
            assert (on_counts <= none_counts).all(), column
    assert frame_on["true_offences"].sum() < frame_none["true_offences"].sum()
