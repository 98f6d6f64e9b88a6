"""Paired comparison: common random numbers make a scenario against itself differ by exactly
zero, the system against none sanctions more, and the statistics are Student's t over seeds."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_scenarios import _assert_user_error, cli

import creditsim
from creditsim import catalogue
from creditsim.workflow import flatten_audit, paired_table
from creditsim.workflow.metrics import HEADLINE

POPULATION = 3_000


@pytest.fixture(scope="module")
def with_itself() -> creditsim.CompareResult:
    return creditsim.compare("national-2018", "national-2018", population=POPULATION, seeds=2)


@pytest.fixture(scope="module")
def against_none() -> creditsim.CompareResult:
    # A is the baseline (no system), B the system: B - A is what the system does.
    return creditsim.compare("no-system", "national-2018", population=POPULATION, seeds=3)


def test_a_scenario_against_itself_differs_by_exactly_zero(with_itself):
    table = with_itself.to_frame()
    assert len(table) > 50
    for row in table.itertuples(index=False):
        for a, b, difference in zip(row.a_values, row.b_values, row.differences, strict=True):
            if math.isnan(a):  # undefined (a ratio over zero) in both, never in one only
                assert math.isnan(b), row.metric
            else:
                assert difference == 0.0 and a == b, row.metric
    defined = table[table["replicates"] == 2]
    assert len(defined) > 50
    assert (defined["difference"] == 0.0).all()
    assert (defined["ci_low"] == 0.0).all() and (defined["ci_high"] == 0.0).all()
    assert not defined["significant"].any()
    replicates = with_itself.replicates()
    assert set(replicates["seed"]) == {0, 1}
    assert (replicates["difference"].dropna() == 0.0).all()


def test_the_system_against_none(against_none):
    rows = against_none.to_frame().set_index("metric")
    sanctioned = rows.loc["sanctions.any.sanctioned"]
    assert sanctioned["a_mean"] == 0 and sanctioned["b_mean"] > 0
    assert sanctioned["difference"] > 0 and sanctioned["ci_low"] > 0
    assert bool(sanctioned["significant"])
    assert rows.loc["records", "difference"] > 0
    # The same citizens on both sides of every pair: common random numbers.
    assert against_none.seeds == [0, 1, 2]
    for a, b in zip(against_none.runs_a, against_none.runs_b, strict=True):
        assert a.manifest["seed"] == b.manifest["seed"]
        assert a.audit()["overall"]["households"] == b.audit()["overall"]["households"]
        assert a.manifest["citizen_rows"]["kept"] == "none"  # nothing kept without --out
    summary = against_none.summary()
    assert list(summary) == list(HEADLINE)
    assert summary["sanctions.any.sanctioned"]["difference"] == sanctioned["difference"]


def test_one_seed_gives_no_interval():
    result = creditsim.compare(
        "national-2018", "no-system", population=POPULATION, seeds=1, catalogue=False
    )
    table = result.to_frame()
    assert table["ci_low"].isna().all() and table["standard_error"].isna().all()
    assert table["significant"].isna().all()
    assert "no confidence interval" in result.note
    assert result.summary()["sanctions.any.sanctioned"]["ci_low"] is None


def test_paired_table_is_students_t():
    a = [{"x": 1.0, "y": 5.0}, {"x": 2.0, "y": math.nan}, {"x": 3.0, "y": 5.0}]
    b = [{"x": 2.0, "y": 6.0}, {"x": 4.0, "y": 7.0}, {"x": 6.0, "y": 6.0}]
    table = paired_table(a, b, confidence=0.9).set_index("metric")
    x = table.loc["x"]
    assert x["differences"] == [1.0, 2.0, 3.0]
    assert x["difference"] == 2.0
    assert x["standard_error"] == pytest.approx(1.0 / math.sqrt(3))
    half = stats.t.ppf(0.95, 2) / math.sqrt(3)
    assert (x["ci_low"], x["ci_high"]) == pytest.approx((2.0 - half, 2.0 + half))
    y = table.loc["y"]  # a difference undefined in one replicate: the others count
    assert y["replicates"] == 2 and y["difference"] == 1.0 and y["a_mean"] == 5.0


def test_flatten_audit_is_flat_and_named(against_none):
    flat = flatten_audit(against_none.runs_b[0].audit())
    assert all(isinstance(value, float) for value in flat.values())
    for name in (
        "true_events",
        "households_reached",
        "sanctions.flight_ban.denied_purchases",
        "sanctions.flight_ban.person_days",
        "lists.debtors.sanctioned",
        "policies.national.punished",
        "behaviour_change.speech.change_share",
        "by_group.minority-b.any.disparate_impact",
    ):
        assert name in flat, name
    assert (
        flat["sanctions.any.sanctioned"]
        == against_none.runs_b[0].audit()["overall"]["sanctions"]["any"]["sanctioned"]
    )


def test_compare_is_recorded_with_its_runs(against_none):
    entry = catalogue.show_run(against_none.catalogue_id)
    assert entry["kind"] == "compare" and entry["status"] == "complete"
    assert entry["scenario"] == "no-system vs national-2018"
    assert entry["settings"]["seeds"] == [0, 1, 2]
    assert entry["metrics"]["sanctions.any.sanctioned: B - A"] > 0
    children = catalogue.query(
        f"SELECT scenario, seed FROM runs WHERE parent = {against_none.catalogue_id}"
    ).to_pylist()
    assert sorted((row["scenario"], row["seed"]) for row in children) == sorted(
        (name, seed) for name in ("national-2018", "no-system") for seed in (0, 1, 2)
    )


def test_compare_writes_its_files(tmp_path):
    out = tmp_path / "cmp"
    result = creditsim.compare("no-system", "national-2018", population=2_000, seeds=2, out=out)
    written = pd.read_parquet(out / "compare.parquet")
    assert list(written["metric"]) == list(result.table["metric"])
    assert np.array_equal(written["difference"], result.table["difference"], equal_nan=True)
    saved = json.loads(
        (out / "compare.json").read_text(), parse_constant=lambda c: pytest.fail(c)
    )  # strict JSON: no NaN
    assert saved["seeds"] == [0, 1] and saved["a"]["scenario"] == "no-system"
    assert (out / "runs" / "a-seed-1" / "manifest.json").is_file()
    assert list((out / "runs" / "b-seed-0" / "citizens").glob("*.parquet"))
    with pytest.raises(creditsim.errors.OutputError, match="not empty"):
        creditsim.compare("no-system", "national-2018", population=2_000, seeds=1, out=out)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["national-2019", "no-system"], "unknown preset 'national-2019'"),
        (["national-2018", "no-system", "--seeds", "0"], "--seeds 0: must be"),
        (["national-2018", "no-system", "--population", "0"], "--population 0: must be"),
    ],
)
def test_cli_compare_bad_input_exits_2(tmp_path, arguments, fragment):
    done = cli("compare", *arguments, "-o", str(tmp_path / "out"))
    _assert_user_error(done, "error:", fragment)
    assert done.stderr.count("error:") == 1
    assert not (tmp_path / "out").exists()


def test_cli_compare(tmp_path):
    done = cli("compare", "no-system", "national-2018", "-n", "2000", "-k", "2")
    assert done.returncode == 0, done.stderr
    assert "national-2018 (B) against no-system (A, the baseline)" in " ".join(done.stdout.split())
    assert "sanctions.any.sanctioned" in done.stdout
    assert "95% interval" in done.stdout and "significant" in done.stdout


def test_seeds_past_the_largest_are_refused_before_anything_runs(tmp_path):
    """Seeds run seed .. seed + K - 1; one past 2**63 - 1 (what a scenario and the catalogue
    accept) is one clear message, and nothing is written or recorded."""
    from creditsim.workflow.batch import replicate_seeds

    largest = 2**63 - 1
    with pytest.raises(creditsim.WorkflowError, match=r"at most 9223372036854775805"):
        creditsim.compare("no-system", "national-2018", population=2_000, seeds=3,
                          seed=largest - 1, out=tmp_path / "out")  # fmt: skip
    assert not (tmp_path / "out").exists()
    assert replicate_seeds(largest - 2, 3) == [largest - 2, largest - 1, largest]
    done = cli("compare", "no-system", "national-2018", "-n", "2000", "-k", "2",
               "--seed", str(largest), "-o", str(tmp_path / "cli"))  # fmt: skip
    _assert_user_error(done, "error:", "past the largest allowed, 2**63 - 1")
    assert not (tmp_path / "cli").exists()
