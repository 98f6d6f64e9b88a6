"""An uncertainty analysis is recorded in the catalogue and stands beside any run of the same
model: the dashboard shows each headline number's range over what is secret."""

from __future__ import annotations

import pytest

import creditsim
from creditsim.scenario import load_scenario
from creditsim.workflow.ranges import latest_ranges, model_key, secret_ranges


@pytest.fixture
def catalogue(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITSIM_CATALOGUE", str(tmp_path / "catalogue.duckdb"))


def test_a_run_of_the_same_model_finds_the_analysis_and_scales_its_counts(catalogue, tmp_path):
    analysis = creditsim.uncertainty("national-2018", samples=2, population=2000, seed=4)
    run = creditsim.run("national-2018", population=4000, seed=9, out=tmp_path / "run")
    # The same model whatever the population and seed; another calendar is another model.
    assert model_key(run.scenario) == model_key(analysis.scenario.model_copy())
    longer = load_scenario("national-2018", {"run": {"years": 2.0}})
    assert latest_ranges(longer) is None
    shown = secret_ranges(run)
    assert shown is not None and "2,000 citizens" in shown["analysis"]
    lines = {line["metric"]: line["text"] for line in shown["lines"]}
    wrongful = analysis.intervals["sanctions.any.wrongful"]
    low, high = (round(wrongful[k] * 2) for k in ("low", "high"))  # 4,000 / 2,000 citizens
    assert (
        f"between {low:,} and {high:,} over the assumption ranges"
        in lines["sanctions.any.wrongful"]
    )
    share = analysis.intervals["sanctions.any.wrongful_share"]
    assert share["low"] <= share["scenario_value"] <= share["high"]
    assert any(m.endswith("disparate_impact") for m in lines)


def test_no_analysis_no_ranges(catalogue, tmp_path):
    run = creditsim.run("national-2018", population=2000, out=tmp_path / "run")
    assert secret_ranges(run) is None


def test_the_run_report_shows_the_ranges_beside_the_headline_numbers(catalogue, tmp_path):
    run = creditsim.run("national-2018", population=3000, seed=9, out=tmp_path / "run")
    before = creditsim.report(run, tmp_path / "before.html").read_text()
    assert "no uncertainty analysis of this model" in before
    creditsim.uncertainty("national-2018", samples=2, population=2000, seed=4)
    after = creditsim.report(run, tmp_path / "after.html").read_text()
    assert "Over what is secret: the range each number takes" in after
    assert "over the assumption ranges" in after and "runs of 2,000 citizens" in after
