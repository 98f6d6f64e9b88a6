"""Assumption ranges in a scenario: the schema's checks of an entry on its own, the resolution of
each path against the whole scenario (the field exists and holds a number, the scenario's own
value lies within), drawing a value from a range, and national-2018's ranges."""

from __future__ import annotations

import math
from importlib import resources

import pytest

import creditsim
from creditsim.scenario import ScenarioError
from creditsim.scenario.assumptions import Range, assumption_ranges, usable_ranges
from creditsim.scenario.loading import validate


def _entry(path: str, low: float, high: float, **more) -> dict:
    return {"path": path, "low": low, "high": high, "why": "a test", **more}


def _with(*entries: dict) -> creditsim.Scenario:
    """national-2018 with these ranges and no others (validated as a file would be)."""
    raw = creditsim.load_scenario("national-2018").model_dump(mode="python")
    return validate({**raw, "assumptions": list(entries)}, "preset 'national-2018'")


def _file(tmp_path, body: str):
    path = tmp_path / "mine.toml"
    path.write_text('extends = "national-2018"\n' + body, encoding="utf-8")
    return path


# --- national-2018 -------------------------------------------------------------------------------


def test_national_2018_gives_every_headline_assumption_a_range_that_holds_its_value():
    scenario = creditsim.load_scenario("national-2018")
    ranges = {r.path: r for r in assumption_ranges(scenario)}
    for path in (
        "channels.camera.fpir_reference",
        "channels.camera.fpir_multiplier_by_group.minority-a",
        "channels.camera.fpir_multiplier_by_group.minority-b",
        "channels.camera.coverage_per_camera_per_1000",
        "channels.court.detect_rate",
        "channels.informant.false_share",
        "regions.west.pooling_share",
        "appeals.success_rate_wrongful",
        "sanctions.flight_ban.purchases.attempts_per_year.middle",
        "behaviours.unpaid_judgment.rate_per_year",
    ):
        assert path in ranges, path
    for r in ranges.values():
        assert r.low <= r.value <= r.high, r.path
        assert len(r.why) > 20, f"{r.path}: say why this range"
    assert ranges["channels.camera.fpir_reference"].value == 0.002
    assert ranges["channels.camera.fpir_multiplier_by_group.minority-b"].value == 10.0
    # A range over orders of magnitude is drawn on a log scale; a term in days is whole.
    assert ranges["channels.camera.fpir_reference"].log
    assert ranges["policies.debtors.term_days"].whole
    assert not ranges["channels.court.detect_rate"].whole


def test_a_preset_that_extends_national_2018_inherits_its_ranges():
    national = {a.path: a for a in creditsim.load_scenario("national-2018").assumptions}
    for name in creditsim.preset_names():
        text = resources.files("creditsim.scenario.presets").joinpath(f"{name}.toml").read_text()
        scenario = creditsim.load_scenario(name)  # every preset loads with its ranges
        if 'extends = "national-2018"' in text and "[[assumptions]]" not in text:
            assert {a.path: a for a in scenario.assumptions} == national, name


# --- the schema: an entry on its own -------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "field", "says"),
    [
        (_entry("channels.court.detect_rate", 0.9, 0.5), "assumptions[0].low", "below high"),
        (_entry("channels.court.detect_rate", 0.5, 0.5), "assumptions[0].low", "below high"),
        (
            _entry("channels.court.detect_rate", 0.0, 0.5, log=True),
            "assumptions[0].low",
            "must be above 0 for a log range",
        ),
        (_entry("court", 0.1, 0.5), "assumptions[0].path", "a dotted path to a field"),
        (_entry("channels..court", 0.1, 0.5), "assumptions[0].path", "a dotted path to a field"),
        (_entry("channels.court.detect rate", 0.1, 0.5), "assumptions[0].path", "dotted path"),
        ({"path": "channels.court.detect_rate", "low": 0.1, "high": 0.5}, "assumptions[0].why",
         "Field required"),
        (_entry("channels.court.detect_rate", 0.1, math.inf), "assumptions[0].high", "finite"),
        (_entry("channels.court.detect_rate", "0.1", 0.5), "assumptions[0].low", "number"),
        (_entry("channels.court.detect_rate", 0.1, 0.5, log="yes"), "assumptions[0].log", "bool"),
    ],
)  # fmt: skip
def test_an_entry_that_cannot_be_a_range_is_refused_when_the_scenario_loads(entry, field, says):
    with pytest.raises(ScenarioError) as caught:
        _with(entry)
    message = str(caught.value)
    assert message.startswith("preset 'national-2018': ")
    assert f"field `{field}`" in message
    assert says in message


def test_a_field_given_two_ranges_is_refused():
    twice = _entry("channels.court.detect_rate", 0.5, 0.9)
    says = r"each field must have one range at most; channels.court.detect_rate has more"
    with pytest.raises(ScenarioError, match=says):
        _with(twice, _entry("channels.tax.detect_rate", 0.1, 0.3), twice)


def test_a_file_with_a_bad_range_is_named_in_the_message(tmp_path):
    path = _file(
        tmp_path,
        '[[assumptions]]\npath = "channels.court.detect_rate"\nlow = 0.9\nhigh = 0.5\nwhy = "x"\n',
    )
    with pytest.raises(ScenarioError) as caught:
        creditsim.load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: field `assumptions[")  # where it lies among the inherited
    assert "].low`: must be below high (got low 0.9, high 0.5 for channels.court.detect_rate)" in (
        message
    )


# --- resolution against the scenario -------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (_entry("channels.camera.fpir", 0.001, 0.01),
         "field `channels.camera.fpir`: unknown field; allowed: enabled, coverage_per_camera"),
        (_entry("regions.south.pooling_share", 0.5, 1.0),
         "no entry named 'south'; allowed: east, central, west, northeast"),
        (_entry("channels.camera.enabled", 0.0, 1.0), "holds no number (a flag)"),
        (_entry("channels.camera", 0.0, 1.0), "holds no number (a table)"),
        (_entry("channels.camera.fpir_multiplier_by_group.nobody", 1.0, 10.0),
         "the key 'nobody' is not set in this scenario"),
        (_entry("channels.court.detect_rate", 0.1, 0.5),
         "the scenario's own value 0.8 lies outside the range [0.1, 0.5]"),
        (_entry("policies.debtors.term_days", 400.2, 400.7),
         "a whole-number field, and no whole number lies in [400.2, 400.7]"),
    ],
)  # fmt: skip
def test_a_range_that_reaches_no_number_of_the_scenario_is_refused(entry, says):
    scenario = _with(entry)
    with pytest.raises(ScenarioError) as caught:
        assumption_ranges(scenario, "mine.toml")
    message = str(caught.value)
    assert message.startswith(f"mine.toml: assumptions[0] ({entry['path']}): ")
    assert says in message


def test_a_named_entry_a_mapping_key_and_the_primary_policy_resolve():
    scenario = _with(
        _entry("behaviours.jaywalking.rate_per_year", 0.5, 2.0),
        _entry("channels.camera.fpir_multiplier_by_group.minority-a", 1.0, 30.0, log=True),
        _entry("policy.start", 600, 750),
        _entry("sanctions.flight_ban.duration_days", 180, 730),
    )
    ranges = assumption_ranges(scenario)
    assert [(r.value, r.whole) for r in ranges] == [
        (1.0, False),
        (3.0, False),
        (700.0, True),
        (365.0, True),
    ]


# --- drawing from a range ------------------------------------------------------------------------


def test_a_range_maps_the_unit_interval_linearly_or_geometrically():
    linear = Range("a.b", 0.2, 0.6, False, "", 0.3, False)
    assert [linear.at(u) for u in (0.0, 0.5, 1.0)] == pytest.approx([0.2, 0.4, 0.6], abs=1e-15)
    geometric = Range("a.b", 0.001, 0.1, True, "", 0.01, False)
    assert geometric.at(0.0) == 0.001 and geometric.at(1.0) == 0.1
    assert geometric.at(0.5) == pytest.approx(0.01, rel=1e-12)  # the geometric middle
    whole = Range("a.b", 364.5, 1825.0, False, "", 730, True)
    drawn = [whole.at(u) for u in (0.0, 1 / 3, 0.5, 1.0)]
    assert drawn == [365, 851, 1095, 1825]  # rounded, and never below the range
    assert all(isinstance(v, int) for v in drawn)


def test_an_inherited_range_over_an_entry_the_scenario_removed_is_left_out():
    # fico-baseline extends national-2018 and removes its lists and sanctions: the inherited
    # ranges over them reach nothing, and an extending file cannot take them away.
    scenario = creditsim.load_scenario("fico-baseline")
    ranges, left_out = usable_ranges(scenario, "preset 'fico-baseline'")
    assert left_out == {
        "policies.debtors.term_days": "the scenario has no entry named 'debtors' in `policies`",
        "sanctions.flight_ban.purchases.attempts_per_year.middle":
            "the scenario has no entry named 'flight_ban' in `sanctions`",
        "sanctions.flight_ban.purchases.attempts_per_year.high":
            "the scenario has no entry named 'flight_ban' in `sanctions`",
        "sanctions.train_ban.purchases.attempts_per_year.middle":
            "the scenario has no entry named 'train_ban' in `sanctions`",
    }  # fmt: skip
    assert len(ranges) + len(left_out) == len(scenario.assumptions)
    assert "channels.camera.fpir_reference" in {r.path for r in ranges}
    with pytest.raises(ScenarioError, match="no entry named 'debtors'"):
        assumption_ranges(scenario)  # the strict reading refuses it
    # An unknown field is a mistake, never left out.
    with pytest.raises(ScenarioError, match="unknown field"):
        usable_ranges(_with(_entry("channels.camera.fpir", 0.001, 0.01)))
