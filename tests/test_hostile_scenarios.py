"""Hostile scenarios: whatever a scenario file holds, a mistake is one message naming the field
and what is allowed, exit status 2, no traceback, and nothing written.

The property takes a preset resolved to a table, picks any field anywhere in it (every table,
every entry of every list, the lists and tables themselves), makes it bad (the wrong type, a
boolean for a number, a number for a flag, NaN, an infinity, a huge number, a table where a
value belongs, an unknown key, ...), writes the file (extending the preset, or whole) and gives
it to a command. Values that are bad in any field must be refused; values that are bad only in
some fields (a negative number, an unknown choice) are checked where the scenario refuses them.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import functools
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from creditsim.cli import app
from creditsim.scenario import ScenarioError, load_scenario, preset_names
from creditsim.scenario.loading import to_toml

UNKNOWN = "zz_unknown_key"
# Words with which a message says what is allowed.
ALLOWED = ("allowed", "should", "must", "at most", "at least", "required", "between", "expected",
           "a range is", "give")  # fmt: skip
# What a message must never show: the validation library's internals.
INTERNALS = ("errors.pydantic.dev", "For further information", "type=", "input_value", "pydantic")
LONG = "x" * 100_000


# --- the cases ------------------------------------------------------------------------------------


@functools.cache
def resolved(preset: str) -> dict[str, Any]:
    """The preset fully resolved, as a scenario file writes it."""
    import tomllib

    return tomllib.loads(to_toml(load_scenario(preset)))


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every place in a resolved scenario: the root, every table, list and value."""
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*path, index))
    return out


@functools.cache
def places(preset: str) -> tuple[tuple, ...]:
    return tuple(_paths(resolved(preset)))


def _get(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


def _set(node: Any, path: tuple, value: Any) -> Any:
    """A copy of `node` with `value` at `path`."""
    if not path:
        return value
    out = copy.copy(node)
    out[path[0]] = _set(node[path[0]], path[1:], value)
    return out


def _named(items: list) -> bool:
    return bool(items) and all(
        isinstance(i, dict) and isinstance(i.get("name"), str) for i in items
    )


def override(base: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    """The smallest change, as a file extending `base` writes it, that puts `value` at `path`:
    tables merge, and an entry of a list of named tables is addressed by its name."""
    if not path:
        return value
    key, rest = path[0], path[1:]
    node = base[key]
    if not rest:
        return {key: value}
    if isinstance(node, dict):
        return {key: override(node, rest, value)}
    if len(rest) > 1 and _named(node):
        entry = node[rest[0]]
        return {key: [{"name": entry["name"], **override(entry, rest[1:], value)}]}
    return {key: _set(node, rest, value)}


# (kind, value, bad in every field?) for each sort of place.
NOT_FINITE = [("not finite", math.nan, True), ("not finite", math.inf, True),
              ("not finite", -math.inf, True)]  # fmt: skip
WHOLE = [("table for a value", {"x": 1}, True), ("array for a value", [1], True)]
FOR_NUMBER = [
    ("bool for a number", True, True),
    ("bool for a number", False, True),
    ("text for a number", "high", True),
    ("text for a number", "1", True),
    ("date for a number", datetime.date(2018, 1, 1), True),
    *NOT_FINITE,
    ("huge", 10**30, True),
    ("huge", -(10**30), True),
    ("huge", 2**63, True),
    ("huge", 1e300, True),
    ("huge", -1e300, True),
    *WHOLE,
    ("negative", -1, False),
    ("zero", 0, False),
    ("out of range", 5_000_000, False),
]
FOR_FLAG = [
    ("text for a flag", "yes", True),
    ("text for a flag", "true", True),
    ("number for a flag", 1, True),
    ("number for a flag", 0, True),
    ("number for a flag", 1.0, True),
    *WHOLE,
]
FOR_TEXT = [
    ("number for text", 5, True),
    ("number for text", 0.5, False),  # a fraction of citizen rows may be one
    ("bool for text", True, True),
    ("date for text", datetime.date(2018, 1, 1), True),
    ("very long text", LONG, True),
    *WHOLE,
    ("unknown choice", "not-a-choice", False),
    ("not a name", "Not A Name!", False),
    ("empty", "", False),
]
FOR_DATE = [  # a date (run.start_date, run.report_from): written as a TOML date or YYYY-MM-DD
    ("number for a date", 5, True),
    ("bool for a date", True, True),
    ("text not a date", "May 2018", True),
    ("empty", "", True),
]
FOR_ARRAY = [
    ("number for an array", 5, True),
    ("text for an array", "x", True),
    ("bool for an array", True, True),
    ("table for an array", {"x": 1}, True),
    ("bad entry", [{UNKNOWN: 1}], True),
    ("bad entry", [[[1]]], True),
    ("bad entry", ["x"], False),
    ("empty array", [], False),
]
FOR_TABLE = [
    ("number for a table", 5, True),
    ("text for a table", "x", True),
    ("bool for a table", True, True),
    ("array for a table", [1], True),
]


@dataclasses.dataclass
class Case:
    preset: str
    path: tuple
    kind: str
    value: Any
    always_bad: bool
    whole_file: bool
    command: str

    @property
    def named(self) -> list[str]:
        """What the message must name (one of): the unknown key, or the field changed; where the
        value is bad only here (a rule across fields may refuse it), any field on its path."""
        if self.kind == "unknown key":
            return [UNKNOWN]
        names = [key for key in self.path if isinstance(key, str)]
        # A new name in a file that extends the preset is a new entry, which lacks fields.
        renamed = not self.whole_file and names[-1:] == ["name"] and len(self.path) > 1
        return names[-1:] if self.always_bad and not renamed else names

    def text(self) -> str:
        base = resolved(self.preset)
        if self.whole_file:
            return tomli_w.dumps(_set(base, self.path, self.value))
        change = override(base, self.path, self.value)
        return f'extends = "{self.preset}"\n' + tomli_w.dumps(change)


@st.composite
def cases(draw) -> Case:
    preset = draw(st.sampled_from(preset_names()))
    path = draw(st.sampled_from(places(preset)))
    node = _get(resolved(preset), path)
    if isinstance(node, dict):
        choices = [("unknown key", {**node, UNKNOWN: 1}, True)] * 4 + (FOR_TABLE if path else [])
    elif isinstance(node, list):
        choices = FOR_ARRAY
    elif isinstance(node, bool):
        choices = FOR_FLAG
    elif isinstance(node, int | float):
        choices = FOR_NUMBER + ([("fraction for a whole number", node + 0.5, True)] * 3
                                if isinstance(node, int) else [])  # fmt: skip
    else:
        choices = FOR_DATE if _is_date(node) else FOR_TEXT
    kind, value, always_bad = draw(st.sampled_from(choices))
    whole_file = draw(st.booleans())
    command = draw(st.sampled_from(["show"] * 5 + ["run"] * 2 + ["compare", "sweep", "calibrate"]))
    return Case(preset, path, kind, value, always_bad, whole_file, command)


# --- the checks -----------------------------------------------------------------------------------


def command_line(command: str, scenario: str, out: str) -> list[str]:
    small = ["-n", "1000", "--out", out]
    return {
        "show": ["scenarios", "show", scenario],
        "run": ["run", scenario, *small],
        "compare": ["compare", scenario, "no-system", *small],
        "sweep": ["sweep", scenario, "--set", "run.years=1,2", *small],
        "calibrate": ["calibrate", scenario, "--fit", "run.years=0.5:1", *small],
    }[command]


def problems_of_message(output: str, named: list[str], allowed: bool = True) -> list[str]:
    """What is wrong with the output of a command that refused a bad scenario."""
    found = []
    if "Traceback" in output:
        found.append("traceback")
    if output.count("error:") != 1:
        found.append(f"{output.count('error:')} messages")
    if named and not any(name in output for name in named):
        found.append(f"the message does not name {' or '.join(map(repr, named))}")
    if allowed and not any(word in output.lower() for word in ALLOWED):
        found.append("the message does not say what is allowed")
    if any(word in output for word in INTERNALS):
        found.append("the message shows the validation library's internals")
    if len(output) > 4000:
        found.append(f"a message of {len(output)} characters")
    return found


def check(case: Case, runner: CliRunner | None = None) -> tuple[str, list[str]]:
    """("refused" / "accepted" / "crashed", problems) for one case; a case whose value the
    scenario may well accept is "accepted" with no problems."""
    runner = runner or CliRunner()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bad.toml"
        path.write_text(case.text(), encoding="utf-8")
        try:
            load_scenario(path)
        except ScenarioError:
            pass
        except Exception as error:  # noqa: BLE001 - what the property looks for
            return "crashed", [f"load_scenario raised {type(error).__name__}: {error}"[:300]]
        else:
            return "accepted", ([f"accepted {case.kind}"] if case.always_bad else [])
        out = Path(folder) / "out"
        done = runner.invoke(app, command_line(case.command, str(path), str(out)))
        found = problems_of_message(done.output, case.named)
        if done.exit_code != 2:
            found.append(f"exit status {done.exit_code}")
        if done.exception is not None and not isinstance(done.exception, SystemExit):
            found.append(f"raised {type(done.exception).__name__}: {done.exception}"[:300])
        if case.kind == "unknown key":
            found += _allowed_here(case, done.output)
        if out.exists():
            found.append("wrote under --out")
        return "refused", found


def _allowed_here(case: Case, output: str) -> list[str]:
    """An unknown key's message lists the fields of the table it is in, not another's."""
    table = _get(resolved(case.preset), case.path)
    if case.path[:1] == ("timeline",) and case.path[-1:] == ("set",):
        # A phase's settings are dotted paths: an unknown one is told the scenario's fields.
        table = {"run": 1, "sanctions": 1, "timeline": 1}
    if "allowed:" not in output:
        return ["an unknown key's message lists nothing allowed"]
    allowed = output.split("allowed:", 1)[1]
    missing = [key for key in table if key not in allowed]
    return [f"the allowed fields leave out {missing}"] if missing else []


@settings(
    max_examples=500,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(case=cases())
def test_a_bad_scenario_is_one_message_and_exit_2(case):
    outcome, found = check(case)
    assume(outcome != "accepted" or found)  # a value that is fine in this field
    event(f"{case.kind} ({outcome})")
    assert not found, (case.preset, case.path, case.kind, case.value, case.command, found)


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_a_flag_does_not_excuse_a_bad_value_in_the_file(command):
    """-n 1000 replaces the file's population, but the file as written is still refused."""
    case = Case("fico-baseline", ("run", "population"), "bool for a number", True, True, False,
                command)  # fmt: skip
    assert check(case) == ("refused", [])


# --- files that are no scenario at all ------------------------------------------------------------

DEEP = 5000
FILES = {
    "invalid UTF-8": (b'name = "caf\xe9"\n', "UTF-8"),
    "nested arrays": (b"x = " + b"[" * DEEP + b"]" * DEEP + b"\n", "nested"),
    "nested inline tables": (b"x = " + b"{a = " * DEEP + b"1" + b"}" * DEEP + b"\n", "nested"),
    "nested dotted keys": (b"a" + b".a" * DEEP + b" = 1\n", "nested"),
    "nested headers": (b"[a" + b".a" * DEEP + b"]\n", "nested"),
    "not TOML": (b"this is not a scenario\n", "not valid TOML"),
    "binary": (bytes(range(256)) * 4, "UTF-8"),
    "NUL": (b'name = "a\x00b"\n', "not valid TOML"),
    "a number too long": (b"x = " + b"1" * 5000 + b"\n", "a number too long"),
    "empty": (b"", "Field required"),
    "extends a number": (b"extends = 5\n", "extends"),
    "extends nothing": (b'extends = "nowhere.toml"\n', "no such scenario file"),
    "a list for a named list": (
        b'extends = "national-2018"\nregions = [[1]]\n[[behaviours]]\nname = ["x"]\n',
        "behaviours",
    ),
}


def _file(folder: Path, case: str) -> Path:
    path = folder / "bad.toml"
    path.write_bytes(FILES[case][0])
    return path


@pytest.mark.parametrize("case", sorted(FILES))
def test_a_file_that_is_no_scenario_is_one_message(tmp_path, case):
    path = _file(tmp_path, case)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)
    assert FILES[case][1] in str(caught.value), str(caught.value)
    out = tmp_path / "out"
    done = CliRunner().invoke(app, ["run", str(path), "-n", "1000", "--out", str(out)])
    assert done.exit_code == 2, done.output
    assert problems_of_message(done.output, [], allowed=False) == [], done.output
    assert not out.exists()


@pytest.mark.parametrize("case", ["invalid UTF-8", "nested arrays"])
def test_a_file_that_is_no_scenario_in_a_process_of_its_own(tmp_path, case):
    path = _file(tmp_path, case)
    out = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "creditsim.cli", "run", str(path), "-n", "1000", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert problems_of_message(done.stderr, [], allowed=False) == [], done.stderr
    assert FILES[case][1] in done.stderr
    assert not out.exists()


def test_a_folder_or_a_huge_file_is_no_scenario(tmp_path):
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    with pytest.raises(ScenarioError, match="a folder"):
        load_scenario(folder)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * 2_000_000 + b"\n")
    with pytest.raises(ScenarioError, match="larger than"):
        load_scenario(huge)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_one_message(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text('extends = "national-2018"\n')
    path.chmod(0)
    with pytest.raises(ScenarioError, match="cannot be read"):
        load_scenario(path)


# --- the mistakes the issue found -----------------------------------------------------------------

SILENT = {
    "bool for population": ({"run": {"population": True}}, "run.population"),
    "bool for years": ({"run": {"years": True}}, "run.years"),
    "bool for points": ({"behaviours": [{"name": "red_light", "points": True}]}, "points"),
    "text for a flag": ({"behaviours": [{"name": "red_light", "offence": "yes"}]}, "offence"),
    "text for remove": ({"sanctions": [{"name": "flight_ban", "remove": "yes"}]}, "remove"),
    "remove a name not there": (
        {"sanctions": [{"name": "flight_bans", "remove": True}]},
        "flight_ban",
    ),
    "huge points": ({"behaviours": [{"name": "red_light", "points": 10**18}]}, "points"),
    "huge informer points": (
        {"channels": {"informant": {"informer_points": 10**18}}},
        "informer_points",
    ),
    "huge insider points": ({"attacks": {"insider": {"points": -(10**18)}}}, "points"),
    "huge income points": (
        {"policies": [{"name": "fico", "income_points": {"low": 10**12}}]},
        "income_points",
    ),
    "huge restore": (
        {"policies": [{"name": "national", "restore_after_days": 10**12}]},
        "restore_after_days",
    ),
    "infinite age multiplier": (
        {"behaviours": [{"name": "red_light", "age_multipliers": {"adult": math.inf}}]},
        "age_multipliers",
    ),
    "huge age multiplier": (
        {"behaviours": [{"name": "red_light", "age_multipliers": {"adult": 1e300}}]},
        "age_multipliers",
    ),
    "infinite attempts": (
        {
            "sanctions": [
                {"name": "flight_ban", "purchases": {"attempts_per_year": {"low": math.inf}}}
            ]
        },
        "attempts_per_year",
    ),
    "NaN share": ({"exemptions": {"share": math.nan}}, "exemptions.share"),
    "huge seed": ({"run": {"seed": 2**64}}, "run.seed"),
}


def test_a_phase_whose_settings_are_no_table_over_an_inherited_phase_is_refused():
    """Found by the property above: a phase of the same date as one the preset inherits, whose
    `set` is a number, crashed the merge of the two phases' settings (TypeError)."""
    case = Case(
        preset="shenzhen-screens", path=("timeline", 3, "set"), kind="number for a table",
        value=5, always_bad=True, whole_file=False, command="show",
    )  # fmt: skip
    assert check(case) == ("refused", [])


@pytest.mark.parametrize("case", sorted(SILENT))
def test_a_mistake_once_accepted_is_refused(case):
    change, field = SILENT[case]
    with pytest.raises(ScenarioError) as caught:
        load_scenario("national-2018", change)
    message = str(caught.value)
    assert field in message, message
    assert any(word in message for word in ALLOWED), message
    assert not any(word in message for word in INTERNALS), message


@pytest.mark.parametrize(
    ("change", "where", "allowed"),
    [
        ({"policies": [{"name": "national", UNKNOWN: 1}]}, "policies[national]", "restore_after"),
        (
            {"policies": [{"name": "national", "contacts": {UNKNOWN: 1}}]},
            "policies[national].contacts",
            "mean_degree",
        ),
        (
            {"policies": [{"name": "debtors", UNKNOWN: 1}]},
            "policies[debtors]",
            "entry_behaviours",
        ),
        (
            {"policies": [{"name": "national", "grades": [{"grade": "A", UNKNOWN: 1}]}]},
            "policies[national].grades[0]",
            "min_score",
        ),
        (
            {"sanctions": [{"name": "flight_ban", "trigger": {UNKNOWN: 1}}]},
            "sanctions[flight_ban].trigger",
            "on_lists",
        ),
    ],
)
def test_an_unknown_key_lists_the_fields_of_its_own_table(change, where, allowed):
    with pytest.raises(ScenarioError) as caught:
        load_scenario("national-2018", change)
    message = str(caught.value)
    assert f"field `{where}.{UNKNOWN}`: unknown field; allowed: " in message, message
    listed = message.split("allowed: ", 1)[1]
    assert allowed in listed, message
    assert "system_enabled" not in listed, message  # the top-level scenario's fields


def test_a_policy_of_an_unknown_type_says_which_types_there_are():
    with pytest.raises(ScenarioError) as caught:
        load_scenario("national-2018", {"policies": [{"name": "national", "type": "nope"}]})
    message = str(caught.value)
    assert "field `policies[national].type`" in message
    for kind in ("points", "sesame", "fico", "list"):
        assert kind in message


def test_a_value_of_either_kind_is_one_line():
    with pytest.raises(ScenarioError) as caught:
        load_scenario("national-2018", {"run": {"citizen_rows": "some"}})
    message = str(caught.value)
    assert "\n" not in message and "field `run.citizen_rows`" in message, message
    assert "'all' or 'none'" in message and "number" in message, message


def test_long_input_is_not_echoed_whole():
    with pytest.raises(ScenarioError) as caught:
        load_scenario("national-2018", {"behaviours": [{"name": "red_light", "category": LONG}]})
    assert len(str(caught.value)) < 1000


def test_numpy_numbers_are_numbers():
    import numpy as np

    scenario = load_scenario(
        "national-2018", {"run": {"population": np.int64(5000), "years": np.float32(0.5)}}
    )
    assert scenario.run.population == 5000 and scenario.run.years == 0.5
    with pytest.raises(ScenarioError, match="run.population"):
        load_scenario("national-2018", {"run": {"population": np.bool_(True)}})


# --- option values: calibrate --fit and sweep --set -----------------------------------------------


@pytest.mark.parametrize(
    ("fit", "fragment"),
    [
        ("behaviours.rumour.rate_per_year=0.002:0.001", "low < high"),
        ("behaviours.rumour.rate_per_year=nan:1", "finite"),
        ("behaviours.rumour.rate_per_year=0:inf", "finite"),
        ("behaviours.rumour.rate_per_year=true:2", "expected path.to.field=low:high"),
        ("=0:1", "expected path.to.field=low:high"),
    ],
)
def test_calibrate_fit_is_one_clear_message(tmp_path, fit, fragment):
    out = tmp_path / "out"
    done = CliRunner().invoke(
        app, ["calibrate", "national-2018", "-n", "1000", "--fit", fit, "--out", str(out)]
    )
    assert done.exit_code == 2, done.output
    assert fragment in done.output, done.output
    assert problems_of_message(done.output, ["--fit"]) == [], done.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("behaviours.red_light.points=1,2,1", "given twice"),
        ("behaviours.red_light.points=1,1.0", "given twice"),
        ("behaviours.red_light.points=1000000000000000000", "points"),
        ("behaviours.red_light.offence=yes", "offence"),
        ("behaviours.red_light.offence=1", "offence"),
        ("run.years=nan", "finite"),
    ],
)
def test_sweep_set_is_one_clear_message(tmp_path, setting, fragment):
    out = tmp_path / "out"
    done = CliRunner().invoke(
        app, ["sweep", "national-2018", "-n", "1000", "--set", setting, "--out", str(out)]
    )
    assert done.exit_code == 2, done.output
    assert fragment in done.output, done.output
    assert problems_of_message(done.output, []) == [], done.output
    assert not out.exists()


def test_sweep_lhs_range_must_be_finite(tmp_path):
    done = CliRunner().invoke(
        app,
        ["sweep", "national-2018", "-n", "1000", "--lhs", "2", "--set", "run.years=0.5:inf"],
    )
    assert done.exit_code == 2, done.output
    assert "finite" in done.output, done.output


def _is_date(node: Any) -> bool:
    if isinstance(node, datetime.date):
        return True
    try:
        datetime.date.fromisoformat(str(node))
    except ValueError:
        return False
    return True
