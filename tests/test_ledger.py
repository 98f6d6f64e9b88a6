"""The ledger replays a record stream without a day loop. Each case here is checked, exactly,
against a plain day-by-day replay written for the test: one citizen at a time, one day at a
time, in Python integers."""

from __future__ import annotations

import numpy as np
import pytest

from creditsim.policies import scores
from creditsim.policies.contacts import Network
from creditsim.policies.scores import ScoreRule, run_ledger
from creditsim.scenario.schema import CHANNELS, GradeBand, PointsPolicy, SesamePolicy

CITIZENS, DAYS, PERIOD = 60, 40, 7
GRADES = [GradeBand(grade=g, min_score=m) for g, m in (("A", 120), ("B", 90), ("C", 40), ("D", 0))]


def _rule(policy, deltas, start, network=None) -> ScoreRule:
    kinds = len(deltas)
    return ScoreRule(
        policy, np.array(deltas, dtype=np.int32), np.ones(len(CHANNELS), bool),
        np.ones(kinds, bool), np.array(start, dtype=np.int32), network,
    )  # fmt: skip


def _network(rng) -> Network:
    edges = {(int(a), int(b)) for a, b in rng.integers(0, CITIZENS, (90, 2)) if a != b}
    edges |= {(b, a) for a, b in edges}
    source = np.array(sorted(edges))
    indptr = np.zeros(CITIZENS + 1, dtype=np.int64)
    np.cumsum(np.bincount(source[:, 0], minlength=CITIZENS), out=indptr[1:])
    return Network(indptr, source[:, 1].astype(np.int32))


def _reference(rule, day, subject, kind, days, cells, swap):
    """Day by day: each citizen's records of the day summed, then clipped; contacts pull the
    shown score; a swap at the end of its day. Grade changes in day order, by citizen."""
    policy = rule.policy
    low, high = policy.minimum, policy.maximum
    n = rule.start.shape[0]
    deltas = rule.delta_by_kind[kind].tolist()
    items = list(zip(day.tolist(), subject.tolist(), deltas, strict=True))
    if policy.restore_after_days is not None:
        after = policy.restore_after_days
        items += [(d + after, s, -v) for d, s, v in items if v < 0 and d + after < days]
    own = [int(x) for x in rule.start]
    contacts = [[] for _ in range(n)]
    if rule.network is not None:
        for i in range(n):
            contacts[i] = rule.network.neighbours[
                rule.network.indptr[i] : rule.network.indptr[i + 1]
            ].tolist()
    weight = policy.contacts.weight

    def shown(i):
        if not contacts[i]:
            return own[i]
        mean = sum(own[j] for j in contacts[i]) / len(contacts[i])
        return int(min(max(np.rint((1 - weight) * own[i] + weight * mean), low), high))

    def grade(score):
        return next(g for g, band in enumerate(policy.grades) if score >= band.min_score)

    scores = [shown(i) for i in range(n)]
    changes = [(0, i, policy.start_grade(), grade(s)) for i, s in enumerate(scores)]
    changes = [c for c in changes if c[2] != c[3]]
    bins = high - low + 1
    histogram = np.zeros((cells.max() + 1, bins), dtype=np.int64)
    for i, s in enumerate(scores):
        histogram[cells[i], s - low] += 1
    snapshots = []
    clipped = 0

    def regrade(today):
        for i in range(n):
            new = shown(i)
            if grade(new) != grade(scores[i]):
                changes.append((today, i, grade(scores[i]), grade(new)))
            histogram[cells[i], scores[i] - low] -= 1
            histogram[cells[i], new - low] += 1
            scores[i] = new

    for today in range(days):
        net: dict[int, int] = {}
        for d, s, v in items:
            if d == today:
                net[s] = net.get(s, 0) + v
        for s, v in net.items():
            clipped += not low <= own[s] + v <= high
            own[s] = min(max(own[s] + v, low), high)
        regrade(today)
        if swap is not None and today == swap[0]:
            count = min(round(swap[1] * n), n // 2)
            order = np.argsort(np.array(scores), kind="stable")
            bottom, top = order[:count].tolist(), order[-count:].tolist()
            taken = [own[i] for i in top] + [own[i] for i in bottom]
            for i, value in zip(bottom + top, taken, strict=True):
                own[i] = value
            regrade(today)
        if (today + 1) % PERIOD == 0 or today == days - 1:
            snapshots.append(histogram.copy())
    return scores, changes, np.stack(snapshots), clipped


CASES = {
    # Tight bounds: most citizens hit the floor or the ceiling, some again and again.
    "clipped": (PointsPolicy(start=100, minimum=0, maximum=150, grades=GRADES), None, None),
    "restored": (
        PointsPolicy(start=100, minimum=0, maximum=150, grades=GRADES, restore_after_days=9),
        None,
        None,
    ),
    "swapped": (PointsPolicy(start=100, minimum=0, maximum=150, grades=GRADES), None, (17, 0.2)),
    "contacts": (
        SesamePolicy(start=100, minimum=0, maximum=150, grades=GRADES, contacts={"weight": 0.4}),
        "network",
        (25, 0.1),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_ledger_equals_a_day_by_day_replay(case):
    policy, network, swap = CASES[case]
    rng = np.random.default_rng(sorted(CASES).index(case))
    records = 400
    day = rng.integers(0, DAYS, records).astype(np.int32)
    subject = rng.integers(0, CITIZENS, records).astype(np.int32)
    kind = rng.integers(0, 4, records).astype(np.int16)
    start = rng.integers(60, 140, CITIZENS)
    rule = _rule(policy, [-45, 30, 0, -5], start, _network(rng) if network else None)
    cells = rng.integers(0, 3, CITIZENS).astype(np.int8)

    ledger = run_ledger(rule, day, subject, kind, DAYS, cells, 3, PERIOD, swap)
    scores, changes, snapshots, clipped = _reference(rule, day, subject, kind, DAYS, cells, swap)

    assert ledger.score.tolist() == scores
    got = ledger.changes
    assert list(zip(got.day.tolist(), got.person.tolist(), got.before.tolist(),
                    got.after.tolist(), strict=True)) == changes  # fmt: skip
    assert np.array_equal(ledger.histograms, snapshots)
    # The case is a real test: scores are clipped at the bounds, and grades change often.
    assert clipped > 10
    assert len(changes) > 20


def test_contact_steps_taken_a_stretch_at_a_time_change_nothing(monkeypatch):
    """The contact steps are taken a stretch of moments at a time to bound their memory: with
    stretches of a few dozen steps (many of them), the ledger still equals the plain replay."""
    monkeypatch.setattr(scores, "CONTACT_STEPS_AT_ONCE", 40)
    test_the_ledger_equals_a_day_by_day_replay("contacts")


@pytest.mark.parametrize("way", ["stable", "quicksort", "bucketed"])
@pytest.mark.parametrize("order", ["runs", "random"])
def test_keys_sort_the_same_whichever_way_the_machine_favours(monkeypatch, way, order):
    """`sort_keys` picks the faster way for the machine and the kind of input (once per
    process): every way gives the sorted keys, on input in runs (as record streams come) and
    in no order."""
    from creditsim.arrays import sorting

    rng = np.random.default_rng(7)
    size = 2 * sorting.PROBE + 1234
    keys = rng.integers(0, 1 << 40, size)
    if order == "runs":
        keys = np.concatenate([np.sort(part) for part in np.array_split(keys, 6)])
    expected = np.sort(keys, kind="quicksort")
    monkeypatch.setattr(sorting, "_chosen", {"runs": way, "scattered": way})
    sorting.sort_keys(keys)
    assert np.array_equal(keys, expected)


def test_keys_far_from_sorted_are_told_from_keys_in_runs_and_bucketed_by_their_top_bits():
    """Keys in no order are put in order of their top 16 bits (a linear radix pass, stable:
    equal digits keep their order) before timsort; keys in a few runs are told apart."""
    from creditsim.arrays import sorting

    rng = np.random.default_rng(9)
    scattered = rng.integers(0, 1 << 40, 3 * sorting.PROBE)
    shift = sorting._top_digit_shift(scattered)
    assert shift == 40 - sorting.DIGIT_BITS
    bucketed = scattered.copy()
    sorting._bucket(bucketed, shift)
    digit = bucketed >> shift
    assert np.all(digit[1:] >= digit[:-1])
    assert np.array_equal(bucketed, scattered[np.argsort(scattered >> 24, kind="stable")])
    runs = np.concatenate([np.sort(part) for part in np.array_split(scattered, 6)])
    assert sorting._scattered(scattered, shift)
    assert not sorting._scattered(runs, shift)


def test_the_faster_way_is_measured_once_per_kind_of_input(monkeypatch):
    from creditsim.arrays import sorting

    monkeypatch.setattr(sorting, "_chosen", {})
    rng = np.random.default_rng(8)
    scattered = rng.integers(0, 1 << 40, 2 * sorting.PROBE)
    runs = np.concatenate([np.sort(part) for part in np.array_split(scattered, 3)])
    sorting.sort_keys(scattered)
    assert list(sorting._chosen) == ["scattered"]
    assert sorting._chosen["scattered"] in sorting.WAYS["scattered"]
    sorting.sort_keys(runs)
    assert sorting._chosen["runs"] in sorting.WAYS["runs"]
    monkeypatch.setattr(sorting, "_faster", lambda *_: pytest.fail("measured twice"))
    again = rng.integers(0, 1 << 40, 2 * sorting.PROBE)
    sorting.sort_keys(again)
    for keys in (scattered, runs, again):
        assert np.all(keys[1:] >= keys[:-1])
