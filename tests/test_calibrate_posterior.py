"""The calibration's posterior beyond recovery: constraints kept in the prior, a held-out target
shown and never fitted, dated targets read from the audit's by_year, the same chain on one
process or two Dask workers, and a bad targets file as one clear message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import build_scenario
from typer.testing import CliRunner

import creditsim
from creditsim.cli import app
from creditsim.workflow.calibrate import calibrate
from creditsim.workflow.fitspace import Space
from creditsim.workflow.targets import (
    Constraint,
    Parameter,
    Target,
    TargetError,
    Targets,
    load_targets,
    modelled,
    raw_value,
)

RATE = "behaviours.loiter.rate_per_year"
MIDDLE = "sanctions.ban.purchases.attempts_per_year.middle"
RANGES = {RATE: (0.3, 3.0), MIDDLE: (0.5, 10.0)}
BAN = {
    "name": "ban",
    "duration_days": 60,
    "trigger": {"record_behaviours": ["loiter"]},
    "purchases": {"kind": "flight", "attempts_per_year": {"low": 1.0, "middle": 2.0, "high": 4.0}},
}
ORDER = Constraint(
    increasing=[
        "sanctions.ban.purchases.attempts_per_year.low",
        MIDDLE,
        "sanctions.ban.purchases.attempts_per_year.high",
    ]
)


def _scenario():
    return build_scenario({"sanctions": [BAN], "run": {"population": 3_000, "seed": 5}})


def _figures() -> dict[str, float]:
    """The scenario's own figures, on the targets' scale."""
    audit = creditsim.run(_scenario(), catalogue=False).audit()
    return {
        name: modelled(audit, Target(id=name, metric=metric, value=1.0), 1.0)
        for name, metric in (
            ("records", "overall.records"),
            ("denied", "overall.sanctions.ban.denied_purchases"),
        )
    }


def test_a_constraint_keeps_every_point_run_and_sampled_in_order():
    """The denied purchases ask for a middle band far above the high band (10 times the
    figure); the constraint low <= middle <= high keeps the middle band at most 4.0 at every
    point run and every sample; without it the sampler goes above 4."""
    figures = _figures()
    asked = Targets(
        targets=[Target(id="denied", metric="overall.sanctions.ban.denied_purchases",
                        value=figures["denied"] * 10)],
        constraints=[ORDER],
    )  # fmt: skip
    kept = calibrate(_scenario(), asked, parameters={MIDDLE: (0.5, 10.0)}, walkers=6,
                     steps=6, catalogue=False)  # fmt: skip
    run_at = [values[MIDDLE] for values in (entry["values"] for entry in kept.history)]
    assert all(1.0 <= value <= 4.0 for value in run_at), run_at
    assert kept.posterior is not None
    assert all(1.0 <= sample[MIDDLE] <= 4.0 for sample in kept.posterior.samples)
    assert kept.parameters[0]["high"] <= 4.0 and kept.fitted[MIDDLE] <= 4.0
    loose = asked.model_copy(update={"constraints": []})
    free = calibrate(_scenario(), loose, parameters={MIDDLE: (0.5, 10.0)}, walkers=6, steps=6,
                     catalogue=False)  # fmt: skip
    assert max(entry["values"][MIDDLE] for entry in free.history) > 4.0


def test_constraints_that_cannot_hold_are_one_clear_message():
    base = _scenario()
    chosen = [Parameter(path=MIDDLE, low=0.5, high=0.9)]  # below the low band's 1.0
    with pytest.raises(TargetError, match=r"fewer than 6 of 1200 points .* widen the ranges"):
        Space.of(base, chosen, [ORDER]).draw(np.random.default_rng(0), 6)
    backwards = Constraint(increasing=[f"sanctions.ban.purchases.attempts_per_year.{band}"
                                       for band in ("high", "low")])  # fmt: skip
    with pytest.raises(TargetError, match=r"constraints\[1\]: the scenario's own values break"):
        Space.of(base, chosen, [backwards])
    unknown = Constraint(increasing=[MIDDLE, "sanctions.nope.duration_days"])
    with pytest.raises(TargetError, match=r"constraints\[1\]: .*no entry named 'nope'"):
        Space.of(base, chosen, [unknown])


def test_a_held_out_target_is_shown_and_never_fitted():
    """Two calibrations differ only in the held-out figure (its value, times 1 and times 50):
    the same chain, the same best point; the held-out row shows the model against each, and
    only the far one falls outside the predictive interval."""
    figures = _figures()
    fitted = Target(id="records", metric="overall.records", value=figures["records"] * 1.3)

    def with_held_out(factor: float):
        held = Target(id="denied", metric="overall.sanctions.ban.denied_purchases",
                      value=figures["denied"] * factor, held_out=True)  # fmt: skip
        goal = Targets(targets=[fitted, held])
        return calibrate(_scenario(), goal, parameters={RATE: (0.3, 3.0)}, walkers=4, steps=6,
                         catalogue=False)  # fmt: skip

    near, far = with_held_out(1.0), with_held_out(50.0)
    assert near.fitted == far.fitted and near.history == far.history
    assert near.posterior_frame().equals(far.posterior_frame())
    rows = {row["id"]: row for row in far.fit}
    assert rows["denied"]["held_out"] and not rows["records"]["held_out"]
    assert rows["denied"]["published"] == figures["denied"] * 50
    assert rows["denied"]["median"] == near.fit[1]["median"]
    assert not rows["denied"]["inside"] and near.fit[1]["inside"]


def test_the_same_chain_on_one_process_and_on_two_workers():
    """Every evaluation runs on the common seed and the sampler draws its moves here, so the
    chain, the samples and the fit are identical whichever runs the evaluations."""
    figures = _figures()
    goal = Targets(targets=[
        Target(id="records", metric="overall.records", value=figures["records"] * 1.2),
        Target(id="denied", metric="overall.sanctions.ban.denied_purchases",
               value=figures["denied"] * 0.8),
    ])  # fmt: skip
    here, spread = (
        calibrate(_scenario(), goal, parameters=RANGES, walkers=4, steps=3, catalogue=False,
                  workers=workers)
        for workers in (None, 2)
    )  # fmt: skip
    assert spread.workers == 2 and here.evaluations == spread.evaluations
    assert here.history == spread.history
    assert here.posterior_frame().equals(spread.posterior_frame())
    assert here.fit == spread.fit and here.parameters == spread.parameters


def test_a_dated_target_reads_its_calendar_year():
    """A target with a year reads by_year.<year>.<metric>, undivided by the run's years; a run
    without calendar years says so."""
    target = Target(id="t", metric="sanctions.ban.denied_purchases", value=10.0, year=2018)
    assert target.path == "by_year.2018.sanctions.ban.denied_purchases" and not target.yearly
    audit = {
        "overall": {"citizens": 1_400, "sanctions": {"ban": {"denied_purchases": 90}}},
        "by_year": {"2018": {"sanctions": {"ban": {"denied_purchases": 7}}}},
    }
    assert modelled(audit, target, years=3.0) == 7 * 1_000_000
    undated = Target(id="u", metric="overall.sanctions.ban.denied_purchases", value=1.0)
    assert modelled(audit, undated, years=3.0) == 30 * 1_000_000
    with pytest.raises(TargetError, match="no 'by_year' there .*start date"):
        modelled({"overall": {"citizens": 1}}, target, years=1.0)


def test_dated_targets_read_a_real_run_by_calendar_year_and_calibrate():
    """A two-year run from 2018: the two years' denied purchases, read by dated targets, add
    up to the run's total (read undated, not per year); a calibration with one dated target
    fitted and one held out runs and shows both with their year."""
    two_years = build_scenario(
        {"sanctions": [BAN], "run": {"population": 3_000, "seed": 5, "years": 2,
                                     "start_date": "2018-01-01"}}
    )  # fmt: skip
    run = creditsim.run(two_years, catalogue=False)
    audit = run.audit()
    years = run.manifest["days"] / 365.0
    dated = [Target(id=f"d{y}", metric="sanctions.ban.denied_purchases", value=1.0, year=y)
             for y in (2018, 2019)]  # fmt: skip
    total = Target(id="t", metric="overall.sanctions.ban.denied_purchases", value=1.0,
                   per_year=False)  # fmt: skip
    assert sum(raw_value(audit, t.path) for t in dated) == raw_value(audit, total.path) > 0
    scaled = sum(modelled(audit, t, years) for t in dated)
    assert scaled == pytest.approx(modelled(audit, total, years), rel=1e-12)
    goal = Targets(targets=[
        dated[0].model_copy(update={"value": modelled(audit, dated[0], years) * 1.2}),
        dated[1].model_copy(update={"value": modelled(audit, dated[1], years), "held_out": True}),
    ])  # fmt: skip
    fit = calibrate(two_years, goal, parameters={RATE: (0.3, 3.0)}, walkers=4, steps=2,
                    catalogue=False)  # fmt: skip
    assert [(row["id"], row["year"], row["held_out"]) for row in fit.fit] == [
        ("d2018", 2018, False), ("d2019", 2019, True)
    ]  # fmt: skip
    assert fit.fit[0]["model"] > fit.fit[0]["model_before"]  # the fit asked for 20 % more


BAD = [
    ("[[targets]]\nid='a'\nmetric='overall.records'\nvalue=1\n" * 2, "id 'a' given twice"),
    ("[[targets]]\nid='a'\nmetric='overall.records'\nvalue=1\nheld_out=true\n",
     "every target is held out"),
    ("[[targets]]\nid='a'\nmetric='overall.records'\nvalue=1\ntolerance=0\n",
     "field `targets.0.tolerance`"),
    ("[[targets]]\nid='a'\nmetric='x'\nvalue=1\nyear=2018\nper_year=true\n",
     "a target with a year compares that calendar year's figure"),
    ("[[targets]]\nid='a'\nmetric='x'\nvalue=1\n[[constraints]]\nincreasing=['a.b']\n",
     "field `constraints.0.increasing`: List should have at least 2 items"),
    ("[[targets]]\nid='a'\nmetric='x'\nvalue=1\n[[constraints]]\nincreasing=['a.b', 'a.b']\n",
     "a path given twice"),
    ("[[targets]]\nid='a'\nmetric='x'\nvalue=1\n[[constraints]]\nordered=['a', 'b']\n",
     "field `constraints.0.ordered`: unknown field; allowed: increasing, reason"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "fragment"), BAD)
def test_a_bad_targets_file_is_one_clear_message(tmp_path, text, fragment):
    path = tmp_path / "targets.toml"
    path.write_text(text)
    with pytest.raises(TargetError, match="targets.toml: ") as caught:
        load_targets(path)
    assert fragment in str(caught.value)


def test_a_constraint_on_an_unknown_field_stops_the_command_before_it_runs(tmp_path: Path):
    path = tmp_path / "targets.toml"
    path.write_text(
        "[[targets]]\nid='a'\nmetric='overall.records'\nvalue=1\n"
        "[[parameters]]\npath='behaviours.rumour.rate_per_year'\nlow=0.001\nhigh=0.01\n"
        "[[constraints]]\nincreasing=['behaviours.rumour.rate_per_year', 'behaviours.nope.x']\n"
    )
    out = tmp_path / "out"
    done = CliRunner().invoke(
        app, ["calibrate", "national-2018", "-n", "1000", "-t", str(path), "-o", str(out)]
    )
    assert done.exit_code == 2, done.output
    assert "constraints[1]" in done.output and "no entry named 'nope'" in done.output
    assert "Traceback" not in done.output and not out.exists()


def test_the_optimiser_refuses_a_start_that_breaks_a_constraint(tmp_path: Path):
    """The optimiser starts from the scenario's own values (middle 2.0, below the high band's
    4.0 that this constraint puts under it): refused before anything runs or is written."""
    above = Constraint(increasing=["sanctions.ban.purchases.attempts_per_year.high", MIDDLE])
    goal = Targets(
        targets=[Target(id="records", metric="overall.records", value=1e6)], constraints=[above]
    )
    out = tmp_path / "out"
    with pytest.raises(TargetError, match=r"own values break .*high <= .*middle; the optimiser"):
        calibrate(_scenario(), goal, parameters={MIDDLE: (0.5, 10.0)}, method="optimize",
                  out=out, catalogue=False)  # fmt: skip
    assert not out.exists()
