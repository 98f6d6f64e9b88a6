"""What a run will need in memory, estimated from its scenario before anything runs.

A valid scenario can ask for any amount of memory: fifty years of daily score histograms over a
score range of 100,000 points is 163 GiB in one array. `check` estimates the largest footprint
of a shard (and of the process that adds the shards up) from the scenario alone, in
microseconds, and refuses a run that would not fit with one `FootprintError` (an `OutputError`:
the command line says it and exits with status 2) before a file is written.

The estimate adds up, per shard of `m` citizens over `days` days:

- score histograms: `periods x cells x (maximum - minimum + 1)` per score policy; building one
  takes about 20 bytes per element (int64 differences, their running sum, the int32 result),
  the finished ones 4;
- time series: one int64 count per (period, cell) for each series, with its copies;
- citizens: per-citizen arrays (propensities and their running sums per category), and the
  citizen rows (about 4 bytes per column) where they are kept;
- events: the expected true events (every behaviour's rate at its largest age multiplier, with
  the gaming response's extra merits, and no deterrence), about 32 bytes each;
- records: the events each channel records (a platform's false flags, informants' false
  reports and their informers' credit records included), about 64 bytes each;
- score ledgers: a ledger sorts and walks every record and, for the audit, every true event it
  could read, twice as many with restoration, about 80 bytes each; contacts (Sesame-like
  scores) multiply the steps by the contacts each citizen has, and hold a contact network;
- denied purchases: as if every citizen were banned for the whole run.

Shards running at once add up (with `workers`, one per worker), and the process that adds them
up holds int64 sums of the histograms and time series, and without `out` every kept citizen
row. The total is compared with `memory_limit` (bytes or a size such as "8GiB"), or by default
with `CREDITSIM_MEMORY_LIMIT` or the memory this machine has available less a tenth.

Measured (bench/bench_footprint.py, bench/results/footprint.md: peak resident memory of a run in
a fresh process, less what the process held before it): the estimate lies above the measured
peak in all 24 cases there, from 1.06 to 2.8 times it: 1.5 to 2.8 for the presets at 100,000 and
1,000,000 citizens (where the ledgers' replays for the audit are counted for every citizen, and
few need them), 1.06 to 1.13 where score histograms ask for gigabytes, 1.3 to 2.0 where events,
time series or the audit do. It is an estimate of expected sizes: a random draw far above its
mean can exceed it.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from creditsim.engine.combine import shard_sizes
from creditsim.errors import OutputError
from creditsim.policies.scores import CONTACT_STEPS_AT_ONCE, deltas
from creditsim.scenario.schema import CHANNELS, INCOME_BANDS, ListPolicy, Scenario

ENVIRONMENT = "CREDITSIM_MEMORY_LIMIT"
HEADROOM = 0.1  # of the available memory, left to everything else
MiB = 2**20

# Bytes per item, measured on the presets and on scenarios that stress each term (see the
# module's docstring), rounded up.
RUN_OVERHEAD = 64 * MiB  # what a first run loads and keeps (Parquet writer, arenas, modules)
WORKER_PROCESS = 192 * MiB  # a Dask worker process with the simulator imported
MAIN_OVERHEAD = 16 * MiB  # the merged tables and the audit's own of the adding process
HELD_RESULT = 4 * MiB  # a finished run kept by a compare, sweep or calibration (its audit)
PER_CITIZEN = 48
PER_CITIZEN_CATEGORY = 12  # a propensity (float32) and its running sum (float64)
PER_ROW_COLUMN = 4  # a kept citizen row, per column (NumPy column and Arrow table)
KEPT_ROW_COLUMN = 3  # a citizen row held in memory until the run ends, per column
PER_EVENT = 32
PER_RECORD = 64
PER_LEDGER_STEP = 80
PER_CONTACT = 48  # building the contact network, per (citizen, contact)
PER_CONTACT_STEP = 8  # a shown score's step when a contact's score moves
PER_CONTACT_STRETCH = 64  # the contact steps taken at once, each
PER_PURCHASE = 32
PER_RESAMPLE_STRATUM = 96  # a bootstrap replicate of an outcome in one stratum
PER_RESAMPLE_DETAIL = 448  # ... in one set of a breakdown, with every rate and ratio
HISTOGRAM_BUILDING = 18  # bytes per element while a policy's histograms are built, beside
HISTOGRAM_KEPT = 4  # the finished ones (int32)
HISTOGRAM_SUM = 8  # int64 sums in the process adding shards up
HISTOGRAM_SUMMARY = 9  # running sums (int64) and comparisons for the quantiles, at the end
SERIES_COPIES = 3  # a time series' counts, its table column and the Arrow copy

UNITS = {
    "": 1, "b": 1,
    "k": 2**10, "kib": 2**10, "kb": 10**3,
    "m": 2**20, "mib": 2**20, "mb": 10**6,
    "g": 2**30, "gib": 2**30, "gb": 10**9,
    "t": 2**40, "tib": 2**40, "tb": 10**12,
}  # fmt: skip
NO_LIMIT = ("none", "off", "unlimited")


class FootprintError(OutputError):
    """A run that would need more memory than it may use; nothing has run or been written."""


@dataclass
class Footprint:
    """The estimated memory of one shard and of the process that adds the shards up, in bytes,
    with the terms they are made of."""

    scenario: Scenario
    shard_citizens: int
    shards: int
    periods: int
    cells: int
    shard_parts: dict[str, int] = field(default_factory=dict)
    main_parts: dict[str, int] = field(default_factory=dict)
    # what each term counts, for the message: name -> "18,250 periods x 12 cells x ..."
    sizes: dict[str, str] = field(default_factory=dict)
    widest: str | None = None  # the score policy with the widest histograms
    held: int = 0  # of `main`: the sums, held while the shards after the first run

    @property
    def shard(self) -> int:
        """Bytes one shard needs at its peak."""
        return sum(self.shard_parts.values())

    @property
    def main(self) -> int:
        """Bytes the process that adds the shards up needs beside them."""
        return sum(self.main_parts.values())

    def in_process(self) -> int:
        """A run whose shards run one after another in this process: the sums are held while
        every shard after the first runs, and the final summary comes after the last. The audit
        comes last too, but (measured) does not fit in the memory the shards freed."""
        held = self.held if self.shards > 1 else 0
        audit = self.main_parts.get("audit", 0)
        return RUN_OVERHEAD + audit + max(self.shard + held, self.main - audit)

    def largest(self) -> str:
        """The term that needs the most, in a shard or in the process adding them up."""
        parts = dict(self.shard_parts)
        for name, size in self.main_parts.items():
            parts[name] = max(size, parts.get(name, 0))
        return max(parts, key=lambda name: parts[name])


def estimate(scenario: Scenario, written: bool = True) -> Footprint:
    """The footprint of a run of `scenario` (its run settings resolved), written to a directory
    or (`written` False) kept in memory."""
    config = scenario.run
    sizes_of_shards = shard_sizes(config.population, config.shard_size)
    m = max(sizes_of_shards)
    days = max(1, int(round(config.years * 365)))
    years = days / 365.0
    period = config.timeseries_every_days
    periods = -(-days // period)
    groups = len(scenario.groups)
    cells = len(scenario.regions) * groups
    strata = cells * len(INCOME_BANDS)
    result = Footprint(scenario, m, len(sizes_of_shards), periods, cells)
    parts, main, sizes = result.shard_parts, result.main_parts, result.sizes

    # Score histograms, per policy (periods, cells, score range).
    spans = {p.name: p.maximum - p.minimum + 1 for p in scenario.score_policies}
    elements = {name: periods * cells * span for name, span in spans.items()}
    total, widest = sum(elements.values()), max(elements, key=lambda n: elements[n])
    result.widest = widest
    parts["score histograms"] = HISTOGRAM_KEPT * total + HISTOGRAM_BUILDING * elements[widest]
    main["score histograms"] = HISTOGRAM_SUM * total + HISTOGRAM_SUMMARY * elements[widest]
    sizes["score histograms"] = (
        f"{periods:,} periods x {cells:,} cells x {spans[widest]:,} points"
        + (f" of policy '{widest}'" if len(spans) > 1 else "")
    )

    # Time series: counts per (period, cell), and per (period, stratum) for events and records.
    series = 4 + 2 * len(scenario.list_policies)
    series += sum(3 if s.purchases is not None else 2 for s in scenario.sanctions)
    series_bytes = 8 * periods * cells * (series + 4 * len(spans) + 4)
    parts["time series"] = SERIES_COPIES * series_bytes + 8 * 4 * periods * strata
    main["time series"] = SERIES_COPIES * series_bytes
    result.held = HISTOGRAM_SUM * total + series_bytes
    sizes["time series"] = f"{periods:,} periods x {cells:,} cells x {series:,} series"
    main["summing up"] = MAIN_OVERHEAD

    # Citizens.
    categories = len({b.category for b in scenario.behaviours})
    weighted = len({b.category for b in scenario.behaviours if b.propensity_weight})
    parts["citizens"] = m * (PER_CITIZEN + PER_CITIZEN_CATEGORY * weighted)
    rows = config.citizen_rows
    if rows != "none":
        columns = _row_columns(scenario, categories)
        parts["citizens"] += m * PER_ROW_COLUMN * columns
        if not written:
            share = 1.0 if rows == "all" else float(rows)
            main["citizen rows"] = _bytes(config.population * share * KEPT_ROW_COLUMN * columns)
            sizes["citizen rows"] = f"{config.population:,} citizens x {columns} columns"
    sizes["citizens"] = f"{m:,} citizens"

    # Events, records, ledgers.
    events_by = _events_per_citizen(scenario, years)
    events = m * sum(events_by)
    parts["events"] = _bytes(PER_EVENT * events)
    sizes["events"] = f"about {_count(events)} true events of {m:,} citizens"
    if scenario.system_enabled:
        _system_parts(result, scenario, events_by, years, days)
    _audit_part(result, scenario, strata, len(spans))
    return result


def check(
    scenario: Scenario,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    memory_limit: int | str | None = None,
    written: bool = True,
) -> Footprint:
    """Refuse (FootprintError) a run of `scenario` that would not fit: its shards run one after
    another here, or `workers` at once on a local Dask cluster, or on the cluster at `scheduler`
    (whose machines are not known here: only a `memory_limit` given is checked there)."""
    footprint = estimate(scenario, written)
    limit, allowed = memory_allowed(memory_limit)
    if limit is None:
        return footprint
    if scheduler is not None:
        need, at_once = footprint.main + RUN_OVERHEAD, 0
        if memory_limit is not None:
            need = max(need, footprint.shard + RUN_OVERHEAD)
    elif workers is None:
        need, at_once = footprint.in_process(), 1
    else:
        at_once = min(workers, footprint.shards)
        each = WORKER_PROCESS + RUN_OVERHEAD + footprint.shard
        need = at_once * each + RUN_OVERHEAD + footprint.main
    if need > limit:
        raise FootprintError(_message(footprint, need, at_once, allowed))
    return footprint


def check_runs(
    scenarios: list[Scenario],
    *,
    runs: int,
    workers: int | None = None,
    scheduler: str | None = None,
    memory_limit: int | str | None = None,
    written: bool = True,
) -> None:
    """Refuse a compare, sweep or calibration whose runs would not fit: each run is whole in one
    process (here, or one per worker), and the calling process keeps every run's time series
    and audit (`runs` of them) until the end."""
    limit, allowed = memory_allowed(memory_limit)
    if limit is None or not scenarios:
        return
    footprints = [estimate(scenario, written) for scenario in scenarios]
    kept = runs * max(
        HELD_RESULT
        + f.main_parts["time series"] // SERIES_COPIES
        + f.main_parts.get("citizen rows", 0)
        for f in footprints
    )
    for footprint in footprints:
        if scheduler is not None:
            need, at_once = RUN_OVERHEAD + kept, 0
            if memory_limit is not None:
                need = max(need, footprint.in_process())
        elif workers is None or workers <= 1:
            need, at_once = footprint.in_process() + kept, 1
        else:
            at_once = min(workers, runs)
            need = at_once * (WORKER_PROCESS + footprint.in_process()) + RUN_OVERHEAD + kept
        if need > limit:
            raise FootprintError(_message(footprint, need, at_once, allowed, whole_runs=True))


def memory_allowed(memory_limit: int | str | None = None) -> tuple[int | None, str]:
    """The limit in bytes (None: none) and how to say it: the one given, else the environment's
    CREDITSIM_MEMORY_LIMIT, else the memory available here less a tenth."""
    if memory_limit is not None:
        limit = parse_size(memory_limit, "--memory-limit")
        return limit, f"--memory-limit allows {size_text(limit or 0)}"
    if os.environ.get(ENVIRONMENT, "").strip():
        limit = parse_size(os.environ[ENVIRONMENT], ENVIRONMENT)
        return limit, f"{ENVIRONMENT} allows {size_text(limit or 0)}"
    available = available_memory()
    if available is None:
        return None, "unknown"
    limit = int(available * (1.0 - HEADROOM))
    return limit, f"{size_text(limit)} is available"


def parse_size(value: int | float | str, option: str = "--memory-limit") -> int | None:
    """Bytes from a size: a number of bytes, or a number with a unit (500MB, 8GiB, 2g: K, M, G
    and T without B are binary); "none" for no limit."""
    if isinstance(value, bool):
        raise FootprintError(f"{option} {value!r}: give a size such as 8GiB or 500MB, or none")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        text = value.strip().lower()
        if text in NO_LIMIT:
            return None
        match = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-z]*)", text)
        if match is None or match.group(2) not in UNITS:
            raise FootprintError(
                f"{option} {value}: give a size such as 8GiB, 500MB or 2000000000 (bytes), "
                "or none for no limit"
            )
        number, unit = float(match.group(1)), match.group(2)
    size = number * UNITS[unit]
    if not math.isfinite(size) or size < 1 or size > 2**62:
        raise FootprintError(f"{option} {value}: must be at least 1 byte and at most 4 EiB")
    return int(size)


def size_text(size: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            value = size / scale
            return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"
    return f"{int(size)} bytes"


def available_memory() -> int | None:
    """Bytes this process may still take: the kernel's MemAvailable, or less where a control
    group (a container) sets a lower limit; None where neither can be read."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
         "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):  # fmt: skip
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            found.append(max(0, int(limit) - usage))
    if not found:
        try:
            import psutil

            found.append(int(psutil.virtual_memory().available))
        except Exception:  # noqa: BLE001 - no way to know: no check
            return None
    return min(found)


# ------------------------------------------------------------------------------ the terms


def _events_per_citizen(scenario: Scenario, years: float) -> list[float]:
    """Expected true events per citizen over the run, per behaviour: its rate at its largest age
    multiplier (the mean propensity is 1), plus the gaming response's extra merits; deterrence
    only lowers them."""
    from creditsim.response import gaming_rates

    extra = gaming_rates(scenario)
    out = []
    for index, behaviour in enumerate(scenario.behaviours):
        ceiling = max([1.0, *behaviour.age_multipliers.values()])
        if all(a in behaviour.age_multipliers for a in ("child", "young", "adult", "senior")):
            ceiling = max(behaviour.age_multipliers.values())
        rate = behaviour.rate_per_year + extra.get(index, 0.0)
        out.append(rate * ceiling * years)
    return out


def _records_per_citizen(scenario: Scenario, events_by: list[float], years: float) -> np.ndarray:
    """Expected records per citizen, by (record kind, channel): each channel that sees a
    behaviour records a share of its events (with its false records), at most all of them
    (deterrence and pooling only lower it); then the informers' credit records and the
    attacks' fabricated records."""
    channels = scenario.channels
    targeting = scenario.targeting.detection_multiplier_by_group

    def boosted(name: str, chance: float) -> float:
        boost = max([1.0, *targeting.get(name, {}).values()])
        return min(1.0, chance * boost)

    # A camera's chance to see an event, over the run and the regions (by population); then
    # the share of records pooled, in the region and group pooled most.
    per_camera = channels.camera.coverage_per_camera_per_1000
    moments = (np.arange(64) + 0.5) / 64 * years
    cover = sum(
        region.population_share
        * float(np.mean(-np.expm1(-per_camera * region.cameras_per_1000
                                  * (1.0 + region.camera_growth_per_year) ** moments)))
        for region in scenario.regions
    )  # fmt: skip
    pooled = max([1.0, *scenario.targeting.pooling_multiplier_by_group.values()])
    pooled = min(1.0, pooled * sum(r.population_share * r.pooling_share for r in scenario.regions))
    informant = channels.informant
    boost = 1.0
    if (
        scenario.responding()
        and scenario.response.informing.enabled
        and informant.informer_points > 0
    ):
        boost = 1.0 + scenario.response.informing.uplift * scenario.perceived_share()
    reports = boosted("informant", informant.report_rate * boost) / (1.0 - informant.false_share)
    per_event = {
        "camera": boosted("camera", cover),
        "plate": boosted("plate", channels.plate.read_rate),
        "transport": boosted("transport", channels.transport.detect_rate),
        "court": boosted("court", channels.court.detect_rate),
        "tax": boosted("tax", channels.tax.detect_rate),
        "registry": boosted("registry", channels.registry.detect_rate),
        "platform": boosted("platform", channels.platform.recall) / channels.platform.precision,
        "informant": reports,  # true and false reports
    }
    kinds = len(scenario.behaviours)
    records = np.zeros((kinds + 2, len(CHANNELS)))  # the behaviours, "informed", "insider"
    informant_at, court_at = CHANNELS.index("informant"), CHANNELS.index("court")
    for b, (behaviour, events) in enumerate(zip(scenario.behaviours, events_by, strict=True)):
        for name in set(behaviour.channels):
            if getattr(channels, name).enabled:
                records[b, CHANNELS.index(name)] += events * per_event[name]
    records *= pooled
    records[kinds, informant_at] = records[:kinds, informant_at].sum()  # informers' credit
    attacks = scenario.attacks
    if attacks.insider.enabled:
        records[kinds + 1, court_at] += attacks.insider.share
    campaign = attacks.false_reports
    if campaign.enabled:
        records[0, informant_at] += campaign.reports_per_target_per_year * max(
            0.0, years - campaign.start_day / 365
        )
    return records


def _ledger_steps(scenario, policy, events_by, records_by: np.ndarray, days: int) -> float:
    """Steps per citizen of the policy's largest ledger: the records it reads that move its
    score, or (replayed for the audit) the true events it would read, with the restorations of
    deductions that fall within the run."""
    try:
        moves = deltas(scenario, policy) != 0
    except (OverflowError, ValueError):  # points beyond 32 bits: every kind moves the score
        moves = np.ones(len(scenario.behaviours) + 2, dtype=bool)
    read = np.array([c in (policy.reads_channels or CHANNELS) for c in CHANNELS])
    records = float(records_by[moves][:, read].sum())
    kinds = len(scenario.behaviours)
    seen = [any(read[CHANNELS.index(c)] for c in b.channels) for b in scenario.behaviours]
    events = sum(e for e, s, m in zip(events_by, seen, moves[:kinds], strict=True) if s and m)
    steps = max(records, events)
    if policy.restore_after_days is not None:
        steps *= 1.0 + max(0.0, 1.0 - policy.restore_after_days / days)
    return steps


def _purchases_per_citizen(scenario: Scenario, years: float) -> float:
    """Purchases tried under the sanction that denies most of them, as if every citizen were
    under it for the whole run (at the mean attempts over the income bands)."""
    shares = [0.0] * len(INCOME_BANDS)
    for region in scenario.regions:
        for band in range(len(INCOME_BANDS)):
            shares[band] += region.population_share * (
                region.urban_share * scenario.income.urban_shares[band]
                + (1.0 - region.urban_share) * scenario.income.rural_shares[band]
            )
    most = 0.0
    for sanction in scenario.sanctions:
        if sanction.purchases is not None:
            attempts = sanction.purchases.attempts_per_year
            mean = sum(s * attempts.get(b, 0.0) for s, b in zip(shares, INCOME_BANDS, strict=True))
            most = max(most, mean * years)
    return most


def _household_contacts(scenario: Scenario) -> float:
    """The mean number of others in a citizen's household (a citizen-weighted mean)."""
    households = scenario.households
    sizes = {1: 1.0 - households.couple_share, 2: households.couple_share}
    for extra in (households.children_probabilities, households.seniors_probabilities):
        grown: dict[int, float] = {}
        for size, p in sizes.items():
            for more, q in enumerate(extra):
                grown[size + more] = grown.get(size + more, 0.0) + p * q
        sizes = grown
    mean = sum(s * p for s, p in sizes.items())
    return sum(s * (s - 1) * p for s, p in sizes.items()) / mean if mean else 0.0


def _system_parts(
    result: Footprint, scenario: Scenario, events_by: list[float], years: float, days: int
) -> None:
    """Records, score ledgers (with contacts) and denied purchases: what a system adds."""
    parts, sizes, m = result.shard_parts, result.sizes, result.shard_citizens
    records_by = _records_per_citizen(scenario, events_by, years)
    records = m * float(records_by.sum())
    parts["records"] = _bytes(PER_RECORD * records)
    sizes["records"] = f"about {_count(records)} records"
    steps, contact_steps, contacts = 0.0, 0.0, 0.0
    for policy in scenario.score_policies:
        own = m * _ledger_steps(scenario, policy, events_by, records_by, days)
        steps = max(steps, own)
        if policy.contacts.weight > 0:
            degree = policy.contacts.mean_degree + (
                _household_contacts(scenario) if policy.contacts.household else 0.0
            )
            contact_steps = max(contact_steps, own * degree)
            contacts = max(contacts, m * degree)
    parts["score ledgers"] = _bytes(PER_LEDGER_STEP * steps + PER_CONTACT_STEP * contact_steps)
    sizes["score ledgers"] = f"about {_count(steps + contact_steps)} score steps"
    if contacts:
        stretch = min(contact_steps, CONTACT_STEPS_AT_ONCE) * PER_CONTACT_STRETCH
        parts["contacts"] = _bytes(PER_CONTACT * contacts + stretch)
        sizes["contacts"] = f"{m:,} citizens x {contacts / m:.1f} contacts"
    purchases = _purchases_per_citizen(scenario, years)
    if purchases:
        parts["denied purchases"] = _bytes(PER_PURCHASE * m * purchases)
        sizes["denied purchases"] = f"at most {_count(m * purchases)} purchases tried"


def _audit_part(result: Footprint, scenario: Scenario, strata: int, policies: int) -> None:
    """The audit, in the process that adds the shards up: posterior draws of every outcome,
    for every (region, group, income band), and for each breakdown with all its rates."""
    outcomes = len(scenario.sanctions) + (1 if scenario.sanctions else 0)
    outcomes += len(scenario.list_policies) + policies
    replicates = scenario.audit.bootstrap_replicates
    widest_breakdown = max(len(scenario.groups), len(scenario.regions), len(INCOME_BANDS))
    result.main_parts["audit"] = (
        replicates
        * outcomes
        * max(PER_RESAMPLE_STRATUM * strata, PER_RESAMPLE_DETAIL * widest_breakdown)
    )
    result.sizes["audit"] = (
        f"{replicates:,} posterior draws x {outcomes} outcomes x {strata} strata"
    )


def _row_columns(scenario: Scenario, categories: int) -> int:
    """The citizen rows' columns (see the shard's tables)."""
    # Any sanction: sanctioned, wrongful, deserved, false positive, children affected.
    columns = 9 + 2 * categories + 4 + 5 + 5 * len(scenario.score_policies)
    # Per sanction: days, wrongful, deserved, false positive, children affected (and denied).
    columns += sum(6 if s.purchases is not None else 5 for s in scenario.sanctions)
    return columns + 4 * sum(isinstance(p, ListPolicy) for p in scenario.policies)


def _bytes(value: float) -> int:
    """Bytes as an integer, however large (or infinite) the product of a scenario's numbers."""
    return int(value) if value < 2**62 else 2**62


def _count(value: float) -> str:
    if not math.isfinite(value):
        return "unbounded"
    if value >= 1e9:
        return f"{value / 1e9:.3g} billion"
    if value >= 1e6:
        return f"{value / 1e6:.3g} million"
    return f"{int(round(value)):,}"


# ------------------------------------------------------------------------------ the message


def _message(
    footprint: Footprint, need: int, at_once: int, allowed: str, whole_runs: bool = False
) -> str:
    largest = footprint.largest()
    per = "per run" if whole_runs else "per shard"
    each = footprint.in_process() if whole_runs else footprint.shard + RUN_OVERHEAD
    head = f"this run needs about {size_text(each)} {per}"
    if at_once > 1:
        head += f", {size_text(need)} with {at_once} at once"
    elif need > each * 1.05:
        head += f", {size_text(need)} in all"
    detail = footprint.sizes.get(largest)
    head += f" ({largest}: {detail})" if detail else f" ({largest})"
    return f"{head} but {allowed}; {_remedies(footprint, largest, at_once)}"


def _remedies(footprint: Footprint, largest: str, at_once: int) -> str:
    """What to change, for the term that needs the most."""
    if largest == "score histograms":
        changes = ["lower run.years", "raise run.timeseries_every_days",
                   f"narrow policy '{footprint.widest}' minimum/maximum"]  # fmt: skip
    elif largest == "time series":
        changes = ["lower run.years", "raise run.timeseries_every_days"]
    elif largest == "audit":
        changes = ["lower audit.bootstrap_replicates"]
    elif largest == "citizen rows":
        changes = ["write the run with --out", "keep fewer rows with --citizen-rows"]
    else:
        changes = ["lower run.years", "lower the behaviours' rate_per_year"]
        if largest == "contacts":
            changes.append("lower the policies' contacts.mean_degree")
        if footprint.shard_citizens > 1000:
            changes.append("lower --shard-size")
    if at_once > 1:
        changes.append("use fewer --workers")
    if len(changes) > 1:
        changes[-1] = f"or {changes[-1]}"
    return f"{', '.join(changes)}; --memory-limit sets the limit"


__all__ = [
    "ENVIRONMENT",
    "Footprint",
    "FootprintError",
    "available_memory",
    "check",
    "check_runs",
    "estimate",
    "memory_allowed",
    "parse_size",
    "size_text",
]
