"""Score policies (points, Sesame-like, FICO-like): a start per citizen, a delta per record kind,
bounds, grade bands, optional restoration of deductions, and an optional pull towards the scores
of one's contacts.

The ledger has no day loop: it sorts the records by citizen and day and takes running sums, so
a year costs in proportion to records. Records of one citizen on one day are applied together,
then clipped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from creditsim.arrays.sorting import sort_keys
from creditsim.arrays.streams import stream
from creditsim.behaviours import Events
from creditsim.policies.contacts import Network, contact_network
from creditsim.population import Population
from creditsim.scenario.schema import (
    AGE_BANDS,
    CHANNELS,
    INCOME_BANDS,
    PointsPolicy,
    Scenario,
    ScorePolicy,
    Trigger,
)
from creditsim.scenario.timeline import Phases

QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class GradeChanges:
    """Every change of grade, in day order: the input of grade-triggered sanctions."""

    day: np.ndarray  # int32
    person: np.ndarray  # int32
    before: np.ndarray  # int8, grade index (0 is the best grade)
    after: np.ndarray  # int8

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.day, self.person, self.before, self.after

    def take(self, index: np.ndarray) -> GradeChanges:
        return GradeChanges(*(column[index] for column in self.columns()))


@dataclass
class Ledger:
    score: np.ndarray  # int32, final score per citizen
    grade: np.ndarray  # int8, final grade index per citizen
    changes: GradeChanges
    # Score histograms at the end of each period: (periods, cells, maximum - minimum + 1).
    histograms: np.ndarray | None
    swapped_down: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    initial_grade: np.ndarray | None = None  # int8, the grade each citizen starts in


@dataclass
class ScoreRule:
    """One score policy made concrete for a shard's citizens."""

    policy: ScorePolicy
    delta_by_kind: np.ndarray  # int32 per record kind
    channel_read: np.ndarray  # bool per channel: records that reach the policy
    behaviour_read: np.ndarray  # bool per behaviour: true events it would see with perfect records
    start: np.ndarray  # int32 per citizen: the start plus the fixed parts, within bounds
    network: Network | None  # contacts, where the policy reads them
    # bool per citizen: in the policy's regions (a city's pilot); None: everyone is scored
    scored: np.ndarray | None = None
    # Under a timeline whose phases change the points: the first day of each phase and the
    # points per (phase, record kind); None: `delta_by_kind` throughout.
    phased_deltas: tuple[np.ndarray, np.ndarray] | None = None

    def points(self, day: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """The points each record moves the score by, by the rules of its day."""
        if self.phased_deltas is None:
            return self.delta_by_kind[kind]
        first, table = self.phased_deltas
        return table[np.searchsorted(first, day, side="right") - 1, kind]

    @staticmethod
    def uniform(policy: ScorePolicy, delta_by_kind: np.ndarray, citizens: int) -> ScoreRule:
        """Everyone at the policy's start, every channel read, no contacts."""
        kinds = delta_by_kind.shape[0]
        return ScoreRule(
            policy,
            delta_by_kind,
            np.ones(len(CHANNELS), dtype=bool),
            np.ones(kinds, dtype=bool),
            np.full(citizens, policy.start, dtype=np.int32),
            None,
        )

    def records(self, day, subject, kind, channel):
        """The records this policy reads, as (day, subject, kind): from the channels it reads,
        about the citizens it scores."""
        if self.channel_read.all() and self.scored is None:
            return day, subject, kind
        read = self.channel_read[channel]
        if self.scored is not None:
            read = read & self.scored[subject]
        index = np.flatnonzero(read)
        return day[index], subject[index], kind[index]

    def events(self, events: Events) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The true events it would see with perfect records, as (day, person, behaviour)."""
        kinds = self.behaviour_read.shape[0] - 2  # behaviours; then "informed" and "insider"
        if not self.behaviour_read[:kinds].all():
            events = events.of_behaviours(self.behaviour_read[:kinds])
        if self.scored is not None:
            events = events.take(np.flatnonzero(self.scored[events.person]))
        return events.day, events.person, events.behaviour


def deltas(scenario: Scenario, policy: ScorePolicy) -> np.ndarray:
    """Points per record kind: the behaviours, then "informed on someone", then an insider's
    change. A points policy falls back to the behaviours' own points."""
    own = policy.points
    if isinstance(policy, PointsPolicy):
        base = [b.points for b in scenario.behaviours]
        base += [scenario.channels.informant.informer_points, scenario.attacks.insider.points]
    else:
        base = [0] * (len(scenario.behaviours) + 2)
    names = [b.name for b in scenario.behaviours] + ["informed", "insider"]
    return np.array([own.get(n, v) for n, v in zip(names, base, strict=True)], dtype=np.int32)


def score_rules(
    scenario: Scenario, pop: Population, seed: int, shard: int, phases: Phases | None = None
) -> list[ScoreRule]:
    """Each score policy made concrete; under a timeline that changes points, by phase."""
    rules = [score_rule(scenario, policy, pop, seed, shard) for policy in scenario.score_policies]
    if phases is None or phases.constant:
        return rules
    first = np.asarray(phases.first_day, dtype=np.int64)
    for index, rule in enumerate(rules):
        table = np.stack([deltas(s, s.score_policies[index]) for s in phases.scenarios])
        if np.any(table != table[0]):
            rule.phased_deltas = (first, table)
    return rules


def score_rule(
    scenario: Scenario, policy: ScorePolicy, pop: Population, seed: int, shard: int
) -> ScoreRule:
    channels = CHANNELS if policy.reads_channels is None else policy.reads_channels
    channel_read = np.array([c in channels for c in CHANNELS])
    behaviour_read = np.array(
        [any(c in channels for c in b.channels) for b in scenario.behaviours] + [False, False]
    )
    income = np.array([policy.income_points.get(b, 0) for b in INCOME_BANDS], dtype=np.int32)
    age = np.array([policy.age_points.get(b, 0) for b in AGE_BANDS], dtype=np.int32)
    if income.any() or age.any():
        start = policy.start + income[pop.income_band] + age[pop.age_band]
    else:  # everyone starts alike: no gather per citizen
        start = np.full(pop.size, policy.start, dtype=np.int32)
    start = np.clip(start, policy.minimum, policy.maximum).astype(np.int32)
    network = None
    if policy.contacts.weight > 0:
        rng = stream(seed, shard, f"policy:{policy.name}:contacts")
        network = contact_network(pop, policy.contacts, rng)
    scored = None
    if policy.regions is not None:
        names = [r.name for r in scenario.regions]
        scored = np.isin(pop.region, [names.index(r) for r in policy.regions])
    return ScoreRule(
        policy, deltas(scenario, policy), channel_read, behaviour_read, start, network, scored
    )


def grade_of(policy: ScorePolicy, score: np.ndarray) -> np.ndarray:
    return _Grader(policy)(score)


class _Grader:
    """Score -> grade index (0 is the best grade), from one lookup table over the policy's
    range (every score lies within its bounds)."""

    def __init__(self, policy: ScorePolicy) -> None:
        floors = np.array([band.min_score for band in policy.grades][::-1])
        scores = np.arange(policy.minimum, policy.maximum + 1)
        rank = np.searchsorted(floors, scores, side="right") - 1
        self.table = (len(floors) - 1 - np.maximum(rank, 0)).astype(np.int8)
        self.minimum = policy.minimum

    def __call__(self, score: np.ndarray) -> np.ndarray:
        return self.table[score - self.minimum]


class _Shown:
    """The score shown for own scores: the own score itself or, where contacts count, the own
    score pulled towards the mean own score of one's contacts."""

    def __init__(self, rule: ScoreRule) -> None:
        self.low, self.high = rule.policy.minimum, rule.policy.maximum
        self.network = rule.network
        if self.network is not None:
            self.weight = rule.policy.contacts.weight
            self.degree = self.network.degree

    def contact_sums(self, own: np.ndarray) -> np.ndarray:
        return self.network.sum_over(own).astype(np.int64)

    def __call__(self, people, own, contact_sum) -> np.ndarray:
        if self.network is None:
            return own.astype(np.int32)
        degree = self.degree[people]
        mean = contact_sum / np.maximum(degree, 1)
        mixed = np.rint((1.0 - self.weight) * own + self.weight * mean)
        return np.clip(np.where(degree > 0, mixed, own), self.low, self.high).astype(np.int32)


@dataclass
class _Steps:
    """Changes to citizens' scores, one per (citizen, moment). A moment is `day * 2 + phase`:
    phase 0 for the day's records, 1 for a hack at the day's end."""

    person: np.ndarray  # int32
    moment: np.ndarray  # int32
    before: np.ndarray  # int64, the score before the step
    after: np.ndarray  # int64
    # Where steps come by citizen, then moment: where each citizen's first step is. Every other
    # step starts from the score the one before it ended with.
    starts: np.ndarray | None = None


class _Keys:
    """A (citizen, moment) pair as one sortable integer: the citizen above the moment's bits."""

    def __init__(self, days: int) -> None:
        self.moments = 2 * days
        self.bits = self.moments.bit_length()

    def __call__(self, person: np.ndarray, moment: np.ndarray) -> np.ndarray:
        key = person.astype(np.int64)  # a copy, then worked on in place
        key <<= self.bits
        key |= moment
        return key

    def of_days(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The keys of the moments of records on `day`: `day * 2`, built in place."""
        key = np.left_shift(person, self.bits - 1, dtype=np.int64)
        key |= day
        key <<= 1
        return key

    def split(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(citizen, moment) as 32-bit integers (a shard's citizens and moments fit them),
        each computed straight into its array: half the memory of 64-bit ones."""
        person = np.empty(key.shape[0], dtype=np.int32)
        moment = np.empty(key.shape[0], dtype=np.int32)
        np.right_shift(key, self.bits, out=person, casting="unsafe")
        np.bitwise_and(key, (1 << self.bits) - 1, out=moment, casting="unsafe")
        return person, moment


def run_ledger(
    rule: ScoreRule,
    day: np.ndarray,
    subject: np.ndarray,
    kind: np.ndarray,
    days: int,
    cells: np.ndarray | None = None,
    cell_count: int = 0,
    period_days: int = 7,
    swap: tuple[int, float] | None = None,
) -> Ledger:
    """Replay a record stream (in any order); histograms are kept only when `cells` is given.

    `swap` (day, share): at the end of that day a hack swaps the own scores of the highest and
    the lowest `share` of citizens; `Ledger.swapped_down` are those who were at the top.

    There is no day loop. Records are summed per (citizen, day); each citizen's own score is a
    running sum of those, clipped where it would leave the bounds. Where contacts count, each
    change of an own score is passed on to the contacts' sums, and the shown scores follow."""
    policy = rule.policy
    n = rule.start.shape[0]
    day, subject, delta = _deltas(rule, day, subject, kind, days)
    keys = _Keys(days)
    bounds = policy.minimum, policy.maximum
    key, net = _summed(keys.of_days(subject, day), delta)
    del day, subject, delta
    own = _walk(keys, key, net, rule.start, *bounds)
    shown = _Shown(rule)
    contact_start = shown.contact_sums(rule.start) if rule.network is not None else None
    start = shown(np.arange(n), rule.start, contact_start)
    swapped_down = np.zeros(0, dtype=np.int64)
    if swap is None:
        del key, net  # the steps hold what follows needs
    if swap is not None:
        at = swap[0] * 2 + 1
        swapped_down, people, change = _swap(shown, own, rule.start, swap[1], at)
        if people.size:
            # The swap is one more step, to the partner's score; the steps after it are clipped
            # afresh from there.
            key, net = _summed(
                np.concatenate([key, keys(people, np.int64(at))]), np.concatenate([net, change])
            )
            own = _walk(keys, key, net, rule.start, *bounds)
    moves, score = own, None
    if rule.network is not None:
        moves, score = _passed_on(shown, keys, own, rule.start, contact_start, start)

    grade = _Grader(policy)
    initial = grade(start)
    changes = _grade_changes(policy, grade, initial, moves)
    if score is None:
        score = start.copy()
        last = _lasts(moves.person, moves.starts)  # own steps: by citizen, then moment
        score[moves.person[last]] = moves.after[last]
    histograms = None
    if cells is not None:
        histograms = _snapshots(policy, start, cells, cell_count, days, period_days, moves)
    return Ledger(
        score=score,
        grade=grade(score),
        changes=changes,
        histograms=histograms,
        swapped_down=swapped_down,
        initial_grade=initial,
    )


def _deltas(
    rule: ScoreRule, day: np.ndarray, subject: np.ndarray, kind: np.ndarray, days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The records that move this policy's score, as (day, subject, points), with the
    restorations of deductions after `restore_after_days` added as records of their own."""
    policy = rule.policy
    delta = rule.points(day, kind)
    moving = delta != 0
    if not moving.all():
        keep = np.flatnonzero(moving)
        day, subject, delta = day[keep], subject[keep], delta[keep]
    del moving
    delta = delta.astype(np.int64)
    if policy.restore_after_days is not None:
        lost = np.flatnonzero((delta < 0) & (day + policy.restore_after_days < days))
        day = np.concatenate([day, day[lost] + policy.restore_after_days])
        subject = np.concatenate([subject, subject[lost]])
        delta = np.concatenate([delta, -delta[lost]])
    return day, subject, delta


def _grade_changes(policy, grade, initial: np.ndarray, moves) -> GradeChanges:
    """Every change of grade, in day order (within a day the records' changes before a hack's,
    each by citizen). Fixed parts (income, age) and contacts may start a citizen outside the
    nominal start grade: that is a change on day 0, so that spells and triggers see it."""
    started = np.flatnonzero(initial != policy.start_grade()).astype(np.int32)
    after = grade(moves.after)
    if moves.starts is None:
        before = grade(moves.before)
    else:  # each step but a citizen's first starts in the grade the one before it ended in
        before = np.empty_like(after)
        before[1:] = after[:-1]
        before[moves.starts] = grade(moves.before[moves.starts])
    regraded = np.flatnonzero(before != after)
    # Within a moment the moves are in citizen order (`_walk`'s are by citizen, then moment;
    # `_passed_on`'s by stretch of moments, each by citizen): a stable sort by moment alone
    # puts them by (moment, citizen), in linear time where moments fit 16 bits.
    regraded = regraded[np.argsort(_narrow(moves.moment[regraded]), kind="stable")]
    on_day = (moves.moment[regraded] >> 1).astype(np.int32)
    return GradeChanges(
        np.concatenate([np.zeros(started.shape[0], np.int32), on_day]),
        np.concatenate([started, moves.person[regraded].astype(np.int32)]),
        np.concatenate(
            [np.full(started.shape[0], policy.start_grade(), np.int8), before[regraded]]
        ),
        np.concatenate([initial[started], after[regraded]]),
    )


def _narrow(moment: np.ndarray) -> np.ndarray:
    """Moments as 16-bit integers where they fit: NumPy sorts those stably by radix."""
    if moment.size and int(moment.max()) < 1 << 16:
        return moment.astype(np.uint16)
    return moment


def _summed(key: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys, sorted, and the sum of `value` over each (both int64 arrays of the
    caller's own, worked on in place)."""
    key, value = _sorted_by_key(key, value)
    if key.size == 0:
        return key, value
    first = _firsts(key)
    repeated = np.flatnonzero(~first)
    if repeated.size == 0:
        return key, value
    if repeated.size * 8 > key.size:
        at = np.flatnonzero(first)
        return key[at], np.add.reduceat(value, at)
    # Few keys repeat (records that fall on the same citizen and day): each repeat's value is
    # added to its first, rather than every value summed over its run. The k-th repeat (from
    # 0) at place i follows i - k firsts: it belongs to the distinct key numbered i - k - 1.
    summed = value[first]
    group = repeated - np.arange(1, repeated.size + 1)
    np.add.at(summed, group, value[repeated])
    return key[first], summed


def _sorted_by_key(key: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sorted by key (equal keys in any order). Where they fit, key and value are packed
    into one 64-bit integer and sorted as one: a plain sort is several times faster than an
    argsort (`sort_keys`: NumPy's faster sort on this machine for such input). Both are
    int64 arrays of the caller's own: they are packed in place, so that the records are held
    once, not three times."""
    if key.size == 0:
        return key, value
    low = int(value.min())
    width = (int(value.max()) - low).bit_length()
    if int(key.max()).bit_length() + width <= 62:
        packed = key
        packed <<= width
        value -= low
        packed |= value
        del value
        sort_keys(packed)
        value = packed & ((1 << width) - 1)
        value += low
        packed >>= width  # the keys, in place
        return packed, value
    order = np.argsort(key)
    return key[order], value[order]


def _firsts(person: np.ndarray) -> np.ndarray:
    """Whether each item of a sorted array differs from the one before it."""
    first = np.empty(person.shape[0], dtype=bool)
    first[:1] = True
    np.not_equal(person[1:], person[:-1], out=first[1:])
    return first


def _lasts(person: np.ndarray, starts: np.ndarray | None = None) -> np.ndarray:
    """Where each run of equal items of a sorted array ends (from where each run starts, where
    that is known)."""
    if person.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if starts is not None:
        return np.append(starts[1:] - 1, person.shape[0] - 1)
    return np.flatnonzero(np.append(person[1:] != person[:-1], True))


def _running(at: np.ndarray, change: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Running sums of `change` that restart, from `start`, at the first item of each run
    (`at`, ascending, beginning with 0)."""
    total = np.cumsum(change)
    # A jump at each run's first item takes the sum from where the previous run left it.
    level = start - (total[at] - change[at])
    jumped = change.copy()
    jumped[at] += np.diff(level, prepend=0)
    return np.cumsum(jumped, out=total)


def _walk(keys: _Keys, key, net, start, low: int, high: int) -> _Steps:
    """Own scores step by step: x = clip(x + net, low, high) from each citizen's start. Steps
    that change nothing (records that cancel out on a day) are kept: they move no grade and no
    histogram."""
    person, moment = keys.split(key)
    first = _firsts(person)
    at = np.flatnonzero(first)
    origin = start[person[at]].astype(np.int64)
    after = _running(at, net, origin)
    outside = (after < low) | (after > high)
    if outside.any():
        _clip_runs(first, after, outside, low, high)
    before = np.empty_like(after)
    before[1:] = after[:-1]
    before[at] = origin
    return _Steps(person, moment, before, after, at)


def _clip_runs(first, after, outside, low: int, high: int) -> None:
    """Clip running sums in place: each round clips the first item outside the bounds in every
    run that has one, and shifts the rest of that run by as much. A round costs the items of
    the runs still outside, so only the few citizens who reach a bound pay for it."""
    runs = np.cumsum(first) - 1
    bad = np.zeros(int(runs[-1]) + 1, dtype=bool)
    bad[runs[outside]] = True
    index = np.flatnonzero(bad[runs])
    while index.size:
        value, run = after[index], runs[index]
        out = np.flatnonzero((value < low) | (value > high))
        if out.size == 0:
            break
        first_out = out[_firsts(run[out])]
        shift = np.zeros(index.shape[0], dtype=np.int64)
        shift[first_out] = np.clip(value[first_out], low, high) - value[first_out]
        starts = np.flatnonzero(_firsts(run))
        value += _running(starts, shift, np.zeros(starts.shape[0], dtype=np.int64))
        after[index] = value
        still = np.zeros(bad.shape[0], dtype=bool)
        still[run[(value < low) | (value > high)]] = True
        index = index[still[run]]


def _swap(shown: _Shown, own: _Steps, start_own, share: float, at: int):
    """The score swap at moment `at`: who was at the top, who is swapped, and the change of
    own score of each (the top take the bottom's own scores, and the other way round)."""
    n = start_own.shape[0]
    own_now = start_own.astype(np.int64)
    earlier = np.flatnonzero(own.moment < at)
    if earlier.size:
        ends = earlier[_lasts(own.person[earlier])]
        own_now[own.person[ends]] = own.after[ends]
    if shown.network is None:
        score = own_now.astype(np.int32)
    else:
        score = shown(np.arange(n), own_now, shown.contact_sums(own_now))
    count = min(int(round(share * n)), n // 2)
    if count == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    order = np.argsort(score, kind="stable")
    bottom, top = order[:count], order[-count:]
    people = np.concatenate([bottom, top]).astype(np.int64)
    change = np.concatenate([own_now[top], own_now[bottom]]) - own_now[people]
    return top.astype(np.int64), people, change


CONTACT_STEPS_AT_ONCE = 2_000_000  # contact steps handled together: bounds their memory


def _passed_on(shown: _Shown, keys: _Keys, moves: _Steps, start_own, contact_start, start):
    """The shown scores' steps where contacts count, and the final shown scores: every change
    of an own score moves the contact sums of the citizen's contacts at the same moment.

    With a dozen contacts each, the contact steps outnumber the records tenfold: they are taken
    a stretch of moments at a time, each citizen's own score, contact sum and shown score
    carried from one stretch to the next. The steps come stretch by stretch."""
    network = shown.network
    own_now = start_own.astype(np.int64)
    contact_now = contact_start.copy()
    shown_now = start.astype(np.int64)
    change = moves.after - moves.before
    # Cut the moments into stretches of about CONTACT_STEPS_AT_ONCE contact steps each.
    per_moment = np.bincount(
        moves.moment, weights=network.degree[moves.person] + 1, minlength=keys.moments
    )
    stretch = ((np.cumsum(per_moment) - per_moment) // CONTACT_STEPS_AT_ONCE).astype(np.int64)
    stretch_of_move = stretch[moves.moment]
    parts = []
    for number in np.unique(stretch_of_move).tolist():
        index = np.flatnonzero(stretch_of_move == number)
        person, moment, amount = moves.person[index], moves.moment[index], change[index]
        contacts, which = network.of(person)
        key = np.concatenate([keys(person, moment), keys(contacts, moment[which])])
        # The lowest bit says whose change it is: the citizen's own (1), or a contact's (0).
        value = np.concatenate([amount * 2 + 1, amount[which] * 2])
        del contacts, which
        key, value = _sorted_by_key(key, value)
        at = np.flatnonzero(_firsts(key))
        mine = (value & 1).astype(bool)
        value >>= 1
        own_net = np.add.reduceat(np.where(mine, value, 0), at)
        contact_net = np.add.reduceat(np.where(mine, 0, value), at)
        del value, mine
        person, moment = keys.split(key[at])
        del key
        runs = np.flatnonzero(_firsts(person))
        citizens = person[runs]
        own = _running(runs, own_net, own_now[citizens])
        contact_sum = _running(runs, contact_net, contact_now[citizens])
        after = shown(person, own, contact_sum).astype(np.int64)
        before = np.empty_like(after)
        before[1:] = after[:-1]
        before[runs] = shown_now[citizens]
        ends = np.append(runs[1:], person.shape[0]) - 1
        own_now[citizens], contact_now[citizens] = own[ends], contact_sum[ends]
        shown_now[citizens] = after[ends]
        moved = np.flatnonzero(after != before)
        parts.append((person[moved], moment[moved], before[moved], after[moved]))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        parts.append((empty, empty, empty, empty))
    columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
    return _Steps(*columns), shown_now.astype(np.int32)


def _snapshots(policy, start, cells, cell_count, days, period_days, moves: _Steps):
    """Score histograms (periods, cells, score range) at the end of each period of
    `period_days` (the last may be shorter), from the start and the moves."""
    histogram = start_histogram(policy, start, cells, cell_count)
    periods = (days + period_days - 1) // period_days
    size = histogram.size
    slot = (moves.moment // (2 * period_days)).astype(np.int64)
    slot *= size
    # Each citizen's place in a period's histogram, less the score's: one gather per move.
    place = cells.astype(np.int64)
    place *= histogram.shape[1]
    place -= policy.minimum
    slot += place[moves.person]
    del place
    change = np.bincount(slot + moves.after, minlength=periods * size)
    change -= np.bincount(slot + moves.before, minlength=periods * size)
    change = np.cumsum(change.reshape(periods, *histogram.shape), axis=0)
    return (change + histogram).astype(np.int32)


def grade_changes_for_sanctions(
    rule: ScoreRule,
    triggers: list[Trigger],
    day: np.ndarray,
    subject: np.ndarray,
    kind: np.ndarray,
    days: int,
    among: np.ndarray | None = None,
) -> GradeChanges:
    """The grade changes that the grade `triggers` (of this policy) need, replaying only the
    citizens whose records could take them to a triggering grade (and, given `among`, a bool
    per citizen, only those of them where it holds)."""
    policy = rule.policy
    lows = [t.grade_at_or_below for t in triggers if t.grade_at_or_below is not None]
    highs = [t.grade_at_or_above for t in triggers if t.grade_at_or_above is not None]
    # A grade at or below g means a score under the floor of the grade above g; a grade at or
    # above g, a score at or over g's floor.
    floors = [policy.grades[policy.grade_of(g) - 1].min_score for g in lows]
    ceilings = [policy.grades[policy.grade_of(g)].min_score for g in highs]
    if not floors and not ceilings:
        return stack_changes([])
    if rule.network is not None:  # a contact's records move one's score too: replay everyone
        if among is not None:
            raise ValueError("a policy where contacts count is replayed for everyone or nobody")
        return run_ledger(rule, day, subject, kind, days).changes
    citizens = rule.start.shape[0]
    # A score stays between the start plus all deductions and the start plus all gains,
    # whatever their order, the bounds or the restorations.
    # (A gain adds 0 to the deductions' sum, a deduction 0 to the gains': the sums are those
    # of the deductions or the gains alone, in the same order, with no compaction.)
    reaches = np.zeros(citizens, dtype=bool)
    if floors:
        lowest = np.bincount(subject, weights=_signed_points(rule, day, kind, np.minimum),
                             minlength=citizens)  # fmt: skip
        reaches |= rule.start + lowest < max(floors)
    if ceilings:
        highest = np.bincount(subject, weights=_signed_points(rule, day, kind, np.maximum),
                              minlength=citizens)  # fmt: skip
        reaches |= rule.start + highest >= min(ceilings)
    if among is not None:
        reaches &= among
    # Only they are replayed, numbered in order among themselves: their grade changes are
    # those of a replay of everyone.
    replayed = np.flatnonzero(reaches)
    number = np.cumsum(reaches, dtype=np.int32) - 1
    keep = np.flatnonzero(reaches[subject])
    local = number[subject[keep]]
    few = dataclasses.replace(rule, start=rule.start[replayed])
    changes = run_ledger(few, day[keep], local, kind[keep], days).changes
    changes.person = replayed[changes.person].astype(np.int32)
    return changes


def _signed_points(rule: ScoreRule, day, kind, side) -> np.ndarray:
    """The deductions (`side` np.minimum) or the gains (np.maximum) of each record, others 0,
    as the float64 weights `np.bincount` sums (it would convert them): where the points go by
    kind alone, one gather from a table of them."""
    if rule.phased_deltas is None:
        return side(rule.delta_by_kind, 0).astype(np.float64)[kind]
    return side(rule.points(day, kind), 0).astype(np.float64)


def start_histogram(
    policy: ScorePolicy, score: np.ndarray, cells: np.ndarray, cell_count: int
) -> np.ndarray:
    """A (cells, score range) histogram of `score`."""
    bins = policy.maximum - policy.minimum + 1
    index = cells.astype(np.int64) * bins + (score - policy.minimum)
    counts = np.bincount(index, minlength=cell_count * bins)
    return counts.reshape(cell_count, bins).astype(np.int32)


def score_summary(histograms: np.ndarray, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and QUANTILES of the score from histograms (..., score range), exactly.

    Histograms add across shards, so merged quantiles are exact. An empty cell gets NaN."""
    totals = histograms.sum(axis=-1)
    values = np.arange(histograms.shape[-1]) + minimum
    mean = (histograms @ values) / np.maximum(totals, 1)
    cumulative = np.cumsum(histograms, axis=-1)
    quantiles = np.stack(
        [
            np.argmax(cumulative >= np.ceil(q * totals)[..., None], axis=-1) + minimum
            for q in QUANTILES
        ],
        axis=-1,
    ).astype(np.float64)
    empty = totals == 0
    mean[empty] = np.nan
    quantiles[empty] = np.nan
    return mean, quantiles


def stack_changes(changes: list[GradeChanges]) -> GradeChanges:
    """The changes of each, one after the other (none: an empty set of changes)."""
    if not changes:
        i32 = np.zeros(0, dtype=np.int32)
        i8 = np.zeros(0, dtype=np.int8)
        return GradeChanges(i32, i32.copy(), i8, i8.copy())
    columns = zip(*(c.columns() for c in changes), strict=True)
    return GradeChanges(*(np.concatenate(column) for column in columns))
