"""Common random numbers through every stage: every draw after the events is keyed by the
identity of what it decides (an event, a record, a citizen and a sanction, an appeal), so that
changing one parameter changes only what it touches.

Deterrence on against off, and a camera density change: every citizen whose own true events are
identical and who received no record of another's act has identical records, scores and
sanctions. A record of another's act is one whose true actor is someone else or nobody
(misidentified, merged, the plate owner's, fabricated), or a record of having informed on
someone (its informer's, made by another's offence)."""

from __future__ import annotations

import sys
from collections import defaultdict

import numpy as np
import pytest

from creditsim.arrays.streams import keyed
from creditsim.channels import seen_by
from creditsim.engine.pipeline import PIPELINE
from creditsim.engine.state import ShardState
from creditsim.scenario import load_scenario
from creditsim.scenario.loading import merge
from creditsim.scenario.schema import CHANNELS, Scenario

CITIZENS = 20_000
DAYS = 365
SEED = 11


def _run(scenario: Scenario) -> ShardState:
    state = ShardState(scenario, CITIZENS, DAYS, SEED, 0, 0, True, sys.modules["numpy"])
    for s in PIPELINE:
        if s.enabled(scenario):
            s.run(state)
    return state


def _changed(changes: dict) -> Scenario:
    base = load_scenario("national-2018")
    return Scenario.model_validate(merge(base.model_dump(mode="python"), changes))


def _by_citizen(rows: np.ndarray, person: np.ndarray) -> dict[int, list[tuple]]:
    """Rows (one tuple each) grouped by citizen, each citizen's sorted."""
    grouped: dict[int, list[tuple]] = defaultdict(list)
    for who, row in zip(person.tolist(), rows.tolist(), strict=True):
        grouped[who].append(tuple(row))
    return {who: sorted(items) for who, items in grouped.items()}


def _events(state: ShardState) -> dict[int, list[tuple]]:
    e = state.events
    return _by_citizen(np.column_stack([e.day, e.behaviour, e.serial]), e.person)


def _records(state: ShardState) -> dict[int, list[tuple]]:
    r = state.records
    columns = [r.day, r.actor, r.kind, r.channel, r.cause, r.id.astype(np.float64)]
    return _by_citizen(np.column_stack(columns), r.subject)


def _others(state: ShardState) -> set[int]:
    """Citizens who received a record of another's act."""
    r = state.records
    informed = r.kind == len(state.scenario.behaviours)
    return set(np.unique(r.subject[(r.actor != r.subject) | informed]).tolist())


def _sanctions(state: ShardState) -> dict[str, dict[int, list[tuple]]]:
    found = {}
    for name, appealed in state.sanction_appeals.items():
        spans = appealed.outcome.intervals
        found[name] = _by_citizen(np.column_stack([spans.start, spans.end]), spans.person)
    for name, (person, day) in state.denied.items():
        found[f"{name} denied"] = _by_citizen(day[:, None], person)
    for name, appealed in state.list_appeals.items():
        spans = appealed.outcome.intervals
        found[f"list {name}"] = _by_citizen(np.column_stack([spans.start, spans.end]), spans.person)
    return found


def _assert_untouched_citizens_identical(
    a: ShardState, b: ShardState, touched: set[int] = frozenset()
) -> int:
    """`touched`: the citizens the change itself reaches (beyond those whose events moved)."""
    events_a, events_b = _events(a), _events(b)
    others = _others(a) | _others(b) | set(touched)
    untouched = [
        c for c in range(CITIZENS) if events_a.get(c, []) == events_b.get(c, []) and c not in others
    ]
    assert len(untouched) > CITIZENS // 2
    records_a, records_b = _records(a), _records(b)
    differ = [c for c in untouched if records_a.get(c, []) != records_b.get(c, [])]
    assert differ == [], f"{len(differ)} of {len(untouched)} untouched citizens' records differ"
    for name, ledger in a.ledgers.items():
        np.testing.assert_array_equal(ledger.score[untouched], b.ledgers[name].score[untouched])
        np.testing.assert_array_equal(ledger.grade[untouched], b.ledgers[name].grade[untouched])
    sanctions_a, sanctions_b = _sanctions(a), _sanctions(b)
    assert sanctions_a.keys() == sanctions_b.keys()
    for name, held in sanctions_a.items():
        other = sanctions_b[name]
        differ = [c for c in untouched if held.get(c, []) != other.get(c, [])]
        assert differ == [], (name, differ[:5])
    return len(untouched)


@pytest.fixture(scope="module")
def national():
    return _run(load_scenario("national-2018"))


def test_deterrence_on_against_off(national):
    off = _run(_changed({"response": {"deterrence": {"enabled": False}}}))
    assert off.events.size > national.events.size  # deterrence held some offences back
    _assert_untouched_citizens_identical(national, off)


def test_camera_density_change(national):
    """Twice the cameras in one region: what it touches are the events there that a camera
    (faces or plates) can see; every other citizen keeps their records, scores and sanctions."""
    base = load_scenario("national-2018")
    west = [r.name for r in base.regions].index("west")
    regions = [r.model_dump() for r in base.regions]
    regions[west]["cameras_per_1000"] *= 2
    changed = _run(_changed({"regions": regions}))
    assert changed.records.size > national.records.size
    seen = seen_by(base)[:, [CHANNELS.index("camera"), CHANNELS.index("plate")]].any(axis=1)
    touched = set()
    for state in (national, changed):
        e = state.events
        there = (state.pop.region[e.person] == west) & seen[e.behaviour]
        touched |= set(np.unique(e.person[there]).tolist())
    untouched = _assert_untouched_citizens_identical(national, changed, touched)
    assert untouched > CITIZENS // 2


def test_keyed_draws_depend_on_identity_only():
    draws = keyed(5, 2, "channel:camera")
    ids = np.arange(1_000, dtype=np.uint64) * np.uint64(7919)
    shuffled = np.random.default_rng(0).permutation(ids.size)
    np.testing.assert_array_equal(draws.uniforms(ids)[shuffled], draws.uniforms(ids[shuffled]))
    np.testing.assert_array_equal(draws.uniforms(ids)[10:20], draws.uniforms(ids[10:20]))
    assert not np.array_equal(draws.uniforms(ids), draws.uniforms(ids, 1))
    assert not np.array_equal(draws.uniforms(ids), keyed(5, 3, "channel:camera").uniforms(ids))


def test_keyed_draws_are_splitmix64_in_every_block():
    # Hashed a block at a time (streams.BLOCK); each number is still SplitMix64's of its id,
    # written out here in Python integers, on either side of the blocks' edges.
    from creditsim.arrays.backend import BLOCK
    from creditsim.arrays.streams import _mix_int

    draws, golden, mask = keyed(5, 2, "channel:camera"), 0x9E3779B97F4A7C15, (1 << 64) - 1
    ids = np.arange(2 * BLOCK + 10, dtype=np.int64) * 7 - 3  # the first is negative: it wraps
    bits, uniforms = draws.bits(ids, 2), draws.uniforms(ids, 2)
    offset = _mix_int(draws.key + 3 * golden)
    for at in (0, 1, BLOCK - 1, BLOCK, 2 * BLOCK + 9):
        expected = _mix_int(((int(ids[at]) & mask) * golden + offset) & mask)
        assert int(bits[at]) == expected
        assert uniforms[at] == (expected >> 11) * 2.0**-53
    assert bits.dtype == np.uint64 and uniforms.dtype == np.float64
    assert draws.uniforms(ids[:0]).shape == (0,)


def test_channels_observe_the_same_records_a_block_of_events_at_a_time(monkeypatch):
    # Cameras, plates and offices look at a block of events at a time (channels.EVENTS_AT_ONCE)
    # for memory; each draw is keyed by its event, so the records, in their order, are those of
    # looking at every event at once. Cameras, plates and ticket checks target a group here,
    # so that their boost is one per event.
    import creditsim.channels as channels
    from creditsim.arrays.streams import stream
    from creditsim.behaviours import draw_events
    from creditsim.population import build_population

    targeted = {c: {"minority-a": 3.0} for c in ("camera", "plate", "transport")}
    scenario = load_scenario(
        "national-2018", {"targeting": {"detection_multiplier_by_group": targeted}}
    )
    pop = build_population(scenario, 6_000, stream(SEED, 0, "population"))
    events = draw_events(scenario, pop, DAYS, SEED, 0)
    whole = channels.observe(scenario, pop, events, DAYS, SEED, 0)
    monkeypatch.setattr(channels, "EVENTS_AT_ONCE", 997)
    assert events.size > 5 * 997
    blocked = channels.observe(scenario, pop, events, DAYS, SEED, 0)
    assert whole.size > 1_000
    for name in ("day", "subject", "actor", "kind", "channel", "cause", "id"):
        np.testing.assert_array_equal(getattr(blocked, name), getattr(whole, name), err_msg=name)
