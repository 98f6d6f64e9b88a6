"""Calibration: synthetic targets made by known parameter values are recovered; the shipped
targets name published figures; bad input is one clear message."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import build_scenario
from typer.testing import CliRunner

import creditsim
from creditsim.cli import app
from creditsim.scenario import load_scenario
from creditsim.workflow.calibrate import calibrate
from creditsim.workflow.targets import Target, Targets, load_targets, modelled

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "published-figures.csv"
TRUTH = {
    "behaviours.loiter.rate_per_year": 1.6,
    "sanctions.ban.purchases.attempts_per_year.middle": 3.0,
}
RANGES = {
    "behaviours.loiter.rate_per_year": (0.3, 3.0),
    "sanctions.ban.purchases.attempts_per_year.middle": (0.5, 10.0),
}
BAN = {
    "name": "ban",
    "duration_days": 60,
    "trigger": {"record_behaviours": ["loiter"]},
    "purchases": {"kind": "flight", "attempts_per_year": {"low": 3.0, "middle": 1.0, "high": 3.0}},
}


def _scenario():
    return build_scenario({"sanctions": [BAN], "run": {"population": 8_000, "seed": 11}})


def _synthetic_targets() -> Targets:
    """The figures a run at TRUTH gives, as if they were published."""
    truth = load_scenario(
        _scenario(),
        {"behaviours": [{"name": "loiter", "rate_per_year": 1.6}],
         "sanctions": [{"name": "ban", "purchases": {"attempts_per_year": {"middle": 3.0}}}]},
    )  # fmt: skip
    audit = creditsim.run(truth, catalogue=False).audit()
    targets = []
    for name, metric in (
        ("records", "overall.records"),
        ("denied", "overall.sanctions.ban.denied_purchases"),
    ):
        probe = Target(id=name, metric=metric, value=1.0)
        targets.append(Target(id=name, metric=metric, value=modelled(audit, probe, 1.0)))
    return Targets(targets=targets)


def test_calibration_recovers_known_parameter_values(tmp_path):
    """Within 10 per cent of each value that made the targets (one seed: the loss is exactly
    zero at the truth, and the search starts from the scenario's own values, far from it)."""
    result = calibrate(
        _scenario(), _synthetic_targets(), parameters=RANGES, max_evaluations=80, out=tmp_path
    )
    assert result.start_loss > 0.5
    assert result.loss < result.start_loss / 100
    for path, value in TRUTH.items():
        assert result.fitted[path] == pytest.approx(value, rel=0.10), (path, result.fitted)
    for row in result.gaps:
        assert row["ratio"] == pytest.approx(1.0, rel=0.05)
    # The files: the fit, and the fitted scenario, which loads with the fitted values.
    saved = json.loads((tmp_path / "calibration.json").read_text())
    assert saved["fitted"] == result.fitted and saved["evaluations"] == result.evaluations
    fitted = load_scenario(str(tmp_path / "fitted.toml"))
    assert fitted.behaviours[0].rate_per_year == result.fitted["behaviours.loiter.rate_per_year"]
    assert not list(tmp_path.glob(".*tmp*"))


def test_the_shipped_targets_name_published_figures():
    targets = load_targets("national-2018")
    assert {t.id for t in targets.targets} == {
        "flight-denied-2018",
        "train-denied-2018",
        "dishonest-debtors-2018-04",
    }
    assert targets.parameters
    if REFERENCE.is_file():
        with REFERENCE.open() as handle:
            published = {row["id"]: float(row["value"]) for row in csv.DictReader(handle)}
        for target in targets.targets:
            assert published[target.id] == target.value, target.id
    # Every metric is in the audit of a small run of the scenario.
    audit = creditsim.run("national-2018", population=2_000, catalogue=False).audit()
    for target in targets.targets:
        assert modelled(audit, target, 1.0) >= 0


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--fit", "behaviours.nope.rate_per_year=0.1:1"], "no entry named 'nope'"),
        (["--fit", "behaviours.rumour.rate_per_year=2"], "expected path.to.field=low:high"),
        (["--fit", "behaviours.rumour.rate_per_year=2:1"], "low < high"),
        (["--targets", "missing.toml"], "missing.toml: no such targets file"),
        (["--max-evaluations", "0"], "--max-evaluations 0: must be a whole number"),
    ],
)
def test_calibrate_command_errors(arguments, fragment, tmp_path):
    done = CliRunner().invoke(app, ["calibrate", "national-2018", "-n", "2000", *arguments])
    assert done.exit_code == 2, done.output
    assert fragment in done.output
    assert "Traceback" not in done.output


def test_a_scenario_without_shipped_targets_asks_for_a_file():
    done = CliRunner().invoke(app, ["calibrate", "no-system", "-n", "2000"])
    assert done.exit_code == 2
    assert "no targets shipped for 'no-system'" in done.output


def test_calibrate_command_prints_the_fit(tmp_path):
    done = CliRunner().invoke(
        app, ["calibrate", "national-2018", "-n", "3000", "--max-evaluations", "4",
              "-o", str(tmp_path / "fit")],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "fitted parameters" in done.output and "published against the model" in done.output
    assert (tmp_path / "fit" / "fitted.toml").is_file()
    saved = json.loads((tmp_path / "fit" / "calibration.json").read_text())
    assert [row["id"] for row in saved["gaps"]][0] == "flight-denied-2018"


def test_whole_number_fields_are_fitted_as_whole_numbers(tmp_path):
    """A day count is an integer in the schema: the start (365) and every point the search
    tries are rounded to whole days, within the range, not refused as 365.0."""
    fit = calibrate(
        "national-2018",
        parameters={"sanctions.flight_ban.duration_days": (100, 400)},
        population=2_000,
        max_evaluations=4,
        catalogue=False,
    )
    tried = [entry["values"]["sanctions.flight_ban.duration_days"] for entry in fit.history]
    assert tried[0] == 365 and all(type(days) is int and 100 <= days <= 400 for days in tried)
    assert type(fit.fitted["sanctions.flight_ban.duration_days"]) is int
    flight = next(s for s in fit.scenario.sanctions if s.name == "flight_ban")
    assert flight.duration_days == fit.fitted["sanctions.flight_ban.duration_days"]


def test_only_integer_fields_count_as_whole_numbers():
    from creditsim.workflow.calibrate import _holds_integers

    national = load_scenario("national-2018")
    assert _holds_integers(national, "sanctions.flight_ban.duration_days")
    assert not _holds_integers(national, "behaviours.unpaid_judgment.rate_per_year")
