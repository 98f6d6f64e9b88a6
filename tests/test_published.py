"""The public blacklist: one row per published entry, with the truth beside it."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import face_error_scenario

import creditsim
from creditsim.scenario import load_scenario


@pytest.fixture(scope="module")
def national():
    return creditsim.run("national-2018", population=60_000, seed=8)


def test_every_published_entry_is_a_row(national):
    listing = national.blacklist()
    frame = national.to_frame()
    assert set(listing["entry"]) == {"blacklist", "list:debtors", "list:transport_offenders"}
    for entry, days in (
        ("blacklist", "days_blacklist"),
        ("list:debtors", "days_listed_debtors"),
        ("list:transport_offenders", "days_listed_transport_offenders"),
    ):
        rows = listing[listing["entry"] == entry]
        assert set(rows["citizen"]) == set(frame.loc[frame[days] > 0, "citizen"]), entry
        assert (rows["start_day"] < 365).all() and (rows["end_day"] > rows["start_day"]).all()
    # Each row says why: the behaviours of the records that can trigger it, or the grade.
    debtors = listing[listing["entry"] == "list:debtors"]
    assert (debtors["reasons"] == "unpaid_judgment").all()
    published = listing[listing["entry"] == "blacklist"]
    allowed = {"unpaid_judgment", "grade D (national)"}
    assert all(set(r.split(", ")) <= allowed for r in published["reasons"])
    # The sanctions named are those the citizen was under.
    row = published.iloc[0]
    citizen = frame[frame["citizen"] == row["citizen"]].iloc[0]
    under = {s.name for s in national.scenario.sanctions if s.kind == "sanction"
             and citizen[f"days_{s.name}"] > 0}  # fmt: skip
    assert set(row["sanctions"].split(", ")) == under
    # Labels as in the citizen table.
    assert set(listing["group"].astype(str)) <= {g.name for g in national.scenario.groups}


def test_wrongful_entries_carry_their_causes():
    scenario = face_error_scenario(1.0)
    scenario = load_scenario(scenario, {"sanctions": [{"name": "ban", "publishes_name": True}]})
    result = creditsim.run(scenario, population=20_000, seed=4)
    listing = result.blacklist()
    frame = result.to_frame().set_index("citizen")
    assert listing["wrongful"].any() and (~listing["wrongful"]).any()
    assert (listing["wrongful"] == frame.loc[listing["citizen"], "wrongful_ban"].to_numpy()).all()
    # A wrongful entry names its causes (here: face misidentification); a rightful one none.
    assert (listing.loc[listing["wrongful"], "wrongful_causes"] == "face_misidentification").all()
    assert (listing.loc[~listing["wrongful"], "wrongful_causes"] == "").all()


def test_the_blacklist_is_the_same_in_memory_and_written(tmp_path):
    settings = {"population": 30_000, "seed": 9, "shard_size": 10_000}
    in_memory = creditsim.run("national-2018", **settings).blacklist()
    written = creditsim.run("national-2018", **settings, out=tmp_path / "run")
    assert len(in_memory) > 0
    pd.testing.assert_frame_equal(in_memory, written.blacklist())
    assert len(written.manifest["files"]["blacklist"]) == 3


def test_no_system_publishes_nobody():
    listing = creditsim.run("no-system", population=5_000).blacklist()
    assert listing.empty and "wrongful_causes" in listing.columns
