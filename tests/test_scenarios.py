"""Scenario loading, `extends` and merging, preset hygiene, and bad input (API and CLI)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

import creditsim
from creditsim.scenario import ScenarioError, load_scenario, merge, preset_names, scenario_hash
from creditsim.scenario.loading import validate


def _diff(a, b, path=()):
    """Paths where two nested dumps differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += _diff(a.get(key), b.get(key), (*path, key))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += _diff(x, y, (*path, i))
        return out
    return [] if a == b else [path]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- presets, extends, merging ------------------------------------------------------------------


def test_presets_load():
    names = preset_names()
    assert {"national-2018", "no-system"} <= set(names)
    for name in names:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.description


def test_no_system_is_national_without_the_system():
    national = load_scenario("national-2018").model_dump()
    none = load_scenario("no-system").model_dump()
    assert set(_diff(national, none)) == {("name",), ("description",), ("system_enabled",)}
    assert none["system_enabled"] is False and national["system_enabled"] is True


def test_extends_overrides_one_field_only(tmp_path):
    path = _write(
        tmp_path,
        "child.toml",
        'extends = "national-2018"\n[channels.camera]\ntrue_identification_rate = 0.8\n',
    )
    child = load_scenario(path)
    base = load_scenario("national-2018")
    assert _diff(base.model_dump(), child.model_dump()) == [
        ("channels", "camera", "true_identification_rate")
    ]
    assert child.channels.camera.true_identification_rate == 0.8
    assert scenario_hash(child) != scenario_hash(base)
    assert scenario_hash(load_scenario(path)) == scenario_hash(child)


def test_extends_a_file_relative_to_the_extending_file(tmp_path, monkeypatch):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    _write(folder, "base.toml", 'extends = "national-2018"\nname = "base"\n')
    child = _write(folder, "child.toml", 'extends = "base.toml"\n[run]\nseed = 42\n')
    monkeypatch.chdir(tmp_path)  # not the folder of the files
    scenario = load_scenario(child)
    assert scenario.name == "base"
    assert scenario.run.seed == 42
    diff = _diff(load_scenario("national-2018").model_dump(), scenario.model_dump())
    assert set(diff) == {("name",), ("run", "seed")}


def test_extends_cycle_is_an_error_not_a_crash(tmp_path):
    path = _write(tmp_path, "loop.toml", 'extends = "loop.toml"\n')
    with pytest.raises(ScenarioError, match="extends"):
        load_scenario(path)


def test_named_list_entry_merges_by_name():
    base = load_scenario("national-2018")
    changed = load_scenario(
        "national-2018", {"behaviours": [{"name": "red_light", "rate_per_year": 0.7}]}
    )
    assert _diff(base.model_dump(), changed.model_dump()) == [
        ("behaviours", [b.name for b in base.behaviours].index("red_light"), "rate_per_year")
    ]
    red_light = next(b for b in changed.behaviours if b.name == "red_light")
    assert red_light.channels == ["plate"] and red_light.age_multipliers["senior"] == 0.3


def test_remove_drops_a_named_entry_and_a_new_name_is_added():
    base = load_scenario("national-2018")
    changed = load_scenario(
        "national-2018",
        {
            "sanctions": [
                {"name": "blacklist", "remove": True},
                {"name": "hotel_ban", "duration_days": 30, "trigger": {"grade_at_or_below": "C"}},
            ]
        },
    )
    names = [s.name for s in base.sanctions]
    assert names[:3] == ["flight_ban", "train_ban", "blacklist"]
    # blacklist is gone; hotel_ban, already there, is changed in place.
    assert [s.name for s in changed.sanctions] == [n for n in names if n != "blacklist"]
    hotel = next(s for s in changed.sanctions if s.name == "hotel_ban")
    assert hotel.duration_days == 30 and hotel.trigger.grade_at_or_below == "C"
    assert changed.sanctions[:2] == base.sanctions[:2]
    added = load_scenario(
        "national-2018",
        {
            "sanctions": [
                {"name": "new_ban", "duration_days": 9, "trigger": {"grade_at_or_below": "D"}}
            ]
        },
    )
    assert [s.name for s in added.sanctions] == [*names, "new_ban"]


def test_merge_rules():
    base = {
        "a": {"x": 1, "y": 2},
        "items": [{"name": "p", "v": 1, "w": 1}, {"name": "q", "v": 2}],
        "plain": [1, 2, 3],
    }
    out = merge(base, {"a": {"y": 5}, "items": [{"name": "p", "v": 9}], "plain": [4]})
    assert out == {
        "a": {"x": 1, "y": 5},
        "items": [{"name": "p", "v": 9, "w": 1}, {"name": "q", "v": 2}],
        "plain": [4],
    }
    assert base["a"]["y"] == 2  # the base is not changed
    assert merge(base, {"items": [{"name": "q", "remove": True}]})["items"] == [
        {"name": "p", "v": 1, "w": 1}
    ]


def test_overrides_on_a_scenario_object():
    base = load_scenario("national-2018")
    assert load_scenario(base) is base
    changed = load_scenario(base, {"run": {"seed": 5}})
    assert changed.run.seed == 5 and base.run.seed == 0


# --- every number in a preset carries its source -----------------------------------------------

NUMBER = re.compile(r"(?<![\w.\-])[-+]?\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w\-])")
# Run mechanics and definitions, not claims about the world: the random seed, the output
# period, the shard size, and the four-fifths rule itself (a legal definition, named in its
# comment).
EXEMPT_KEYS = {"seed", "timeseries_every_days", "four_fifths_threshold", "shard_size"}


def _split_comment(line: str) -> tuple[str, str]:
    """(code without strings, comment) of one TOML line."""
    code, quote, i = [], None, 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return "".join(code), line[i + 1 :]
        else:
            code.append(char)
        i += 1
    return "".join(code), ""


def _unsourced_numbers(text: str) -> list[str]:
    bad = []
    for number, line in enumerate(text.splitlines(), start=1):
        code, comment = _split_comment(line)
        if not NUMBER.search(code):
            continue
        key = code.split("=", 1)[0].strip()
        if key in EXEMPT_KEYS:
            continue
        if not re.search(r"reference|assumption", comment, re.IGNORECASE):
            bad.append(f"{number}: {line.strip()}")
    return bad


def test_comment_rule_recognises_numbers():
    assert _unsourced_numbers('rate = 0.5\nname = "x2018"\nx = 1 # assumption') == ["1: rate = 0.5"]
    assert _unsourced_numbers("cameras_per_1000 = 1.0e3  # reference: cameras") == []
    assert _unsourced_numbers('m = { child = 0.0 }\nk = ["a-1"]') == ["1: m = { child = 0.0 }"]


@pytest.mark.parametrize("name", preset_names())
def test_every_number_in_a_preset_has_a_source_or_is_marked_an_assumption(name):
    text = resources.files("creditsim.scenario.presets").joinpath(f"{name}.toml").read_text()
    bad = _unsourced_numbers(text)
    assert not bad, f"{name}.toml: numbers without a 'reference' or 'assumption' comment:\n" + (
        "\n".join(bad)
    )


# --- bad input: one clear message, naming the file, the field and what is allowed ---------------

BAD = {
    "wrong-type": (
        '[[behaviours]]\nname = "jaywalking"\nrate_per_year = "high"\n',
        ["behaviours[jaywalking].rate_per_year", "valid number", "'high'"],
    ),
    "out-of-range": (
        "[channels.camera]\ntrue_identification_rate = 1.5\n",
        ["channels.camera.true_identification_rate", "less than or equal to 1", "1.5"],
    ),
    "unknown-field": (
        '[channels.camera]\ncolour = "red"\n',
        ["channels.camera.colour", "unknown field", "allowed", "true_identification_rate"],
    ),
    "shares": (
        '[[groups]]\nname = "majority"\nshare = 0.5\n',
        ["groups.share", "sum to 1", "0.59"],
    ),
    "unknown-group": (
        "[channels.camera]\nfpir_multiplier_by_group = { martians = 2.0 }\n",
        ["channels.camera.fpir_multiplier_by_group", "martians", "allowed", "minority-a"],
    ),
    "unknown-behaviour": (
        '[[sanctions]]\nname = "flight_ban"\ntrigger = { record_behaviours = ["littering"] }\n',
        ["sanctions[flight_ban].trigger.record_behaviours", "littering", "allowed", "jaywalking"],
    ),
    "malformed": ("[channels.camera\ntrue_identification_rate = 0.5\n", ["not valid TOML"]),
}


def _bad_file(tmp_path: Path, case: str) -> Path:
    body, _ = BAD[case]
    prefix = "" if case == "malformed" else 'extends = "national-2018"\n'
    return _write(tmp_path, f"{case}.toml", prefix + body)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_file_gives_one_clear_message(tmp_path, case):
    path = _bad_file(tmp_path, case)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    for fragment in BAD[case][1]:
        assert fragment in message, (fragment, message)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ScenarioError) as caught:
        load_scenario("national-2019")
    message = str(caught.value)
    assert "national-2019" in message
    for name in preset_names():
        assert name in message


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError, match="no such scenario file") as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)


def test_errors_inside_overrides_are_scenario_errors():
    with pytest.raises(ScenarioError, match="audit.reference_group"):
        load_scenario("national-2018", {"audit": {"reference_group": "nobody"}})
    with pytest.raises(ScenarioError, match="grade_at_or_below"):
        load_scenario(
            "national-2018",
            {"sanctions": [{"name": "blacklist", "trigger": {"grade_at_or_below": "Z"}}]},
        )
    with pytest.raises(ScenarioError):
        validate({"name": "x"}, "inline")


# --- the command line -----------------------------------------------------------------------------

CLI = [sys.executable, "-m", "creditsim.cli"]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def _assert_user_error(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    for fragment in fragments:
        assert fragment in done.stderr, (fragment, done.stderr)


@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_bad_file_exits_2_and_writes_nothing(tmp_path, case):
    path = _bad_file(tmp_path, case)
    out = tmp_path / "out"
    done = cli("run", str(path), "-n", "2000", "-o", str(out))
    _assert_user_error(done, "error:", f"{case}.toml", BAD[case][1][0])
    assert done.stderr.count("error:") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("source", "fragment"),
    [("national-2019", "national-2018, no-system"), ("missing.toml", "no such scenario file")],
)
def test_cli_unknown_scenario_exits_2(tmp_path, source, fragment):
    out = tmp_path / "out"
    done = cli("run", source, "-o", str(out), cwd=tmp_path)
    _assert_user_error(done, "error:", fragment)
    assert not out.exists()


@pytest.mark.parametrize("value", ["abc", "0", "-5"])
def test_cli_bad_population_exits_2(tmp_path, value):
    out = tmp_path / "out"
    done = cli("run", "national-2018", "--population", value, "-o", str(out))
    _assert_user_error(done, "--population")
    assert not out.exists()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    return out, cli("run", "national-2018", "-n", "5000", "-o", str(out))


def test_cli_run_writes_the_run_directory(cli_run):
    out, done = cli_run
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "denied purchases" in done.stdout
    assert "national-2018" in done.stdout
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [
        "audit.json",
        "blacklist/part-00000.parquet",
        "citizens/part-00000.parquet",
        "manifest.json",
        "plan.json",
        "shards/part-00000.npz",
        "timeseries.parquet",
        "timeseries/part-00000.parquet",
    ]
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]
    assert leftovers == []


def test_cli_refuses_a_non_empty_out_without_overwrite(cli_run):
    out, done = cli_run
    assert done.returncode == 0
    before = (out / "audit.json").read_bytes()
    refused = cli("run", "national-2018", "-n", "5000", "-s", "3", "-o", str(out))
    _assert_user_error(refused, "error:", "not empty", "--overwrite")
    assert (out / "audit.json").read_bytes() == before
    allowed = cli("run", "national-2018", "-n", "5000", "-s", "3", "-o", str(out), "--overwrite")
    assert allowed.returncode == 0, allowed.stderr
    assert (out / "audit.json").read_bytes() != before


def test_cli_scenarios_list():
    done = cli("scenarios", "list")
    assert done.returncode == 0, done.stderr
    for name in preset_names():
        assert name in done.stdout


@pytest.mark.parametrize("name", ["no-system", "national-2018"])
def test_cli_scenarios_show_round_trips(name):
    done = cli("scenarios", "show", name)
    assert done.returncode == 0, done.stderr
    raw = tomllib.loads(done.stdout)
    assert "extends" not in raw
    assert validate(raw, "shown") == load_scenario(name)


def test_cli_scenarios_show_unknown_exits_2():
    _assert_user_error(cli("scenarios", "show", "nope"), "error:", "unknown preset")


def test_public_api_names():
    for name in ("run", "load_scenario", "preset_names", "Scenario", "ScenarioError"):
        assert hasattr(creditsim, name)


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_runs(name):
    result = creditsim.run(name, population=5_000, seed=3)
    audit = result.audit()
    assert audit["overall"]["citizens"] == 5_000
    assert set(audit["by_region"]) == {r.name for r in result.scenario.regions}


def test_rongcheng_pilot_is_one_city_that_forgives():
    scenario = load_scenario("rongcheng-pilot")
    assert [r.name for r in scenario.regions] == ["rongcheng"]
    assert scenario.policy.start == 1000
    assert scenario.policy.restore_after_days == 730
    assert any(s.trigger.grade_at_or_above == "AA" for s in scenario.sanctions)
