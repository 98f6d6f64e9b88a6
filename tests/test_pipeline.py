"""The stage pipeline keeps its contract: its order, the random purposes each stage declares (and
only those, no two stages sharing one), what each stage reads and writes, which stages a scenario
without a system skips, and timings and progress by the stages' own names."""

from __future__ import annotations

import dataclasses
import sys
from itertools import product

import pytest

import creditsim.arrays.streams as streams
from creditsim.channels.records import Records
from creditsim.engine import runner
from creditsim.engine.pipeline import PIPELINE
from creditsim.engine.shard import run_shard
from creditsim.engine.stage import Stage, check, purpose_pattern, stage
from creditsim.engine.state import INPUTS, ShardState
from creditsim.scenario import load_scenario
from creditsim.scenario.schema import CHANNELS

ORDER = (
    "calendar", "population", "behaviours", "deterrence",
    "channels", "host", "attacks", "exemptions",
    "rules", "giving-up", "policies",
    "lists", "sanctions", "appeals", "purchases",
    "counts", "standing", "leak", "behaviour-change", "list-outcomes", "sanction-outcomes",
    "outputs",
)  # fmt: skip
WITH_SYSTEM_ONLY = {"channels", "attacks", "policies", "sanctions"}
PRESETS = ("national-2018", "rongcheng-pilot", "sesame", "fico-baseline", "no-system")
# Every attack, exemptions, and the response (deterrence, gaming, giving up) of the preset.
EVERYTHING = {
    "attacks": {
        "insider": {"enabled": True, "share": 0.01},
        "false_reports": {"enabled": True, "behaviours": ["unpaid_fine"]},
        "leak": {"enabled": True},
        "score_swap": {"enabled": True, "share": 0.01},
    },
    "exemptions": {"share": 0.05},
}
FIELDS = {f.name for f in dataclasses.fields(ShardState)}


def scenarios():
    yield from ((name, load_scenario(name)) for name in PRESETS)
    yield "everything", load_scenario("national-2018", EVERYTHING)
    yield "sesame-everything", load_scenario("sesame", EVERYTHING)


def test_the_pipeline_follows_the_flow():
    assert tuple(s.name for s in PIPELINE) == ORDER
    assert runner.STAGES == ORDER
    assert all(isinstance(s, Stage) and s.summary for s in PIPELINE)
    check(PIPELINE, INPUTS)  # as at import


def test_each_stage_reads_what_an_earlier_one_wrote():
    known = set(INPUTS)
    for s in PIPELINE:
        assert set(s.reads) <= known, s.name
        assert set(s.reads) | set(s.writes) <= FIELDS, s.name
        known |= set(s.writes)


def test_check_refuses_a_read_before_its_write_and_a_shared_purpose():
    def nothing(state):
        """Nothing."""

    early = stage("early", reads=("pop",), writes=())(nothing)
    with pytest.raises(ValueError, match="early"):
        check((early, *PIPELINE), INPUTS)
    again = stage("again", reads=(), writes=(), purposes=("channel:{channel}",))(nothing)
    with pytest.raises(ValueError, match="channel"):
        check((*PIPELINE, again), INPUTS)
    overlapping = stage("overlap", reads=(), writes=(), purposes=("behaviour:loiter",))(nothing)
    with pytest.raises(ValueError, match="overlap"):
        check((*PIPELINE, overlapping), INPUTS)
    with pytest.raises(ValueError, match="repeat"):
        check((*PIPELINE, PIPELINE[0]), INPUTS)


def _expanded(template: str, scenario) -> set[str]:
    names = {
        "behaviour": [b.name for b in scenario.behaviours],
        "channel": list(CHANNELS),
        "policy": [p.name for p in scenario.score_policies],
        "list": [p.name for p in scenario.list_policies],
        "sanction": [s.name for s in scenario.sanctions],
        "step": [str(i) for i in range(3)],
    }
    keys = [k for k in names if "{" + k + "}" in template]
    return {
        template.format(**dict(zip(keys, values, strict=True)))
        for values in product(*(names[k] for k in keys))
    }


@pytest.mark.parametrize("name", [*PRESETS, "everything"])
def test_no_two_stages_share_a_purpose(name):
    scenario = dict(scenarios())[name]
    owner: dict[str, str] = {}
    for s in PIPELINE:
        for template in s.purposes:
            for purpose in _expanded(template, scenario):
                assert purpose not in owner, (purpose, owner.get(purpose), s.name)
                owner[purpose] = s.name


class _Watched(ShardState):
    """A shard state that notes which of its fields are read and written, and by which stage."""

    def __getattribute__(self, name):
        if name in FIELDS:
            _LOG["read"].add(name)
        return super().__getattribute__(name)

    def __setattr__(self, name, value):
        _LOG["write"].add(name)
        super().__setattr__(name, value)


_LOG: dict[str, set[str]] = {"read": set(), "write": set(), "drawn": set()}


def _watch_streams(monkeypatch):
    """Notes every purpose a random stream is made for, whichever module makes it."""
    original = streams.stream

    def noted(seed, shard, purpose, *args, **kwargs):
        _LOG["drawn"].add(purpose)
        return original(seed, shard, purpose, *args, **kwargs)

    for module in list(sys.modules.values()):
        if module.__name__.startswith("creditsim") and getattr(module, "stream", None) is original:
            monkeypatch.setattr(module, "stream", noted)
    original_keyed = streams.keyed

    def noted_keyed(seed, shard, purpose):
        _LOG["drawn"].add(purpose)
        return original_keyed(seed, shard, purpose)

    for module in list(sys.modules.values()):
        if (
            module.__name__.startswith("creditsim")
            and getattr(module, "keyed", None) is original_keyed
        ):
            monkeypatch.setattr(module, "keyed", noted_keyed)


def _run_watched(scenario, citizens=6_000) -> dict[str, dict[str, set[str]]]:
    for key in _LOG:
        _LOG[key].clear()
    state = _Watched(scenario, citizens, 365, 3, 0, 0, True, sys.modules["numpy"])
    seen = {}
    for s in PIPELINE:
        for key in _LOG:
            _LOG[key].clear()
        if s.enabled(scenario):
            s.run(state)
            seen[s.name] = {key: set(value) for key, value in _LOG.items()}
    return seen


@pytest.mark.parametrize("name", ["everything", "sesame-everything", "no-system"])
def test_stages_keep_to_what_they_declare(name, monkeypatch):
    """Each stage reads and writes only the fields it declares, and draws only from its own
    purposes."""
    _watch_streams(monkeypatch)
    scenario = dict(scenarios())[name]
    seen = _run_watched(scenario)
    stages = {s.name: s for s in PIPELINE}
    drawn = set()
    for stage_name, log in seen.items():
        s = stages[stage_name]
        assert log["read"] - set(s.reads) - set(s.writes) == set(), stage_name
        assert log["write"] - set(s.writes) == set(), stage_name
        patterns = [purpose_pattern(t) for t in (*s.purposes, *s.redraws)]
        for purpose in log["drawn"]:
            assert any(p.fullmatch(purpose) for p in patterns), (stage_name, purpose)
        drawn |= log["drawn"]
    if name == "everything":  # the rarer streams are drawn, so the check above saw them
        assert {"attack:insider", "attack:false-reports", "attack:leak", "exemptions"} <= drawn
        assert seen["giving-up"]["drawn"]  # the channels' purposes, redrawn
        assert any(p.startswith("gaming:") for p in drawn)


def test_no_system_skips_the_system_stages(monkeypatch):
    _watch_streams(monkeypatch)
    no_system, national = load_scenario("no-system"), load_scenario("national-2018")
    ran = set(_run_watched(no_system))
    assert ran.isdisjoint(WITH_SYSTEM_ONLY)
    assert {s.name for s in PIPELINE if not s.enabled(no_system)} >= WITH_SYSTEM_ONLY
    assert all(s.enabled(national) for s in PIPELINE)
    # What the skipped stages would have written reads as nothing having happened.
    state = ShardState(no_system, 10, 30, 1, 0, 0, True, sys.modules["numpy"])
    assert isinstance(state.records, Records) and state.records.size == 0
    assert state.ledgers == {}
    assert all(s.size == 0 for s in state.sanctioned.recorded.values())


@pytest.mark.parametrize("name", ["national-2018", "no-system"])
def test_timings_and_progress_by_stage_name(name):
    heard = []
    result = run_shard(load_scenario(name), 3_000, 365, 5, progress=heard.append)
    assert tuple(result.timings) == ORDER
    assert all(seconds >= 0 for seconds in result.timings.values())
    assert tuple(heard) == ORDER
