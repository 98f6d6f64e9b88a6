"""Each stage beside its floor: the array primitives it cannot do without, in the same process.

    python bench/bench_floor.py [--scenario bench/peers/reference_heavy.toml] [--population N]
                                [--repeat 3] [--out bench/results]

Runs the scenario (the record-heavy peers model by default: 5.4 events and 2.3 records per
citizen-year) in memory `--repeat` times, not recorded in the run catalogue, and keeps each
stage's fastest seconds (the run's timings). Then, in the same process, on arrays of the
run's own sizes (citizens, events, records), times the primitives each stage needs at the least
(fastest of `--repeat` each):

- a uniform draw per item, and a gamma draw per citizen and category (NumPy's PCG64); a
  uniform keyed by an event's identity (creditsim's hash, for common random numbers);
- a weighted pick of a citizen per event: uniforms, in order, found in the cumulative weights
  (the uniforms drawn apart), the faster of a binary search per pick and a merge of the two
  sorted arrays (a stable argsort of both); and the cumulative weights themselves, a running
  sum of each category's propensities in 64-bit floats, without which no pick by weight can
  be made;
- a gather (an attribute of each event's actor) and a compaction (the events kept);
- a count per citizen (`np.bincount`), a scatter-add (`np.bincount` with weights), a running sum
  (`np.cumsum`), and a sort of the records' keys packed into 64-bit integers (`np.sort`):
  in random order (for reference) and as a record stream arrives (six runs in citizen order,
  the faster of NumPy's quicksort and stable sort), the one the ledger's floor counts.

A stage's floor is the sum of the primitives listed for it in FLOORS (what it must do to each
citizen, event or record); its ratio is its seconds over that floor. Within three times its
floor, a stage is "at its floor"; past it, the table says so. Figures go to
bench/results/floor.md and floor.json, with the command, the machine and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from creditsim.arrays.streams import keyed

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchfiles import write_atomically  # noqa: E402

RESULTS = HERE / "results"
HEAVY = HERE / "peers" / "reference_heavy.toml"
WITHIN = 3.0  # a stage within this many times its floor is at its floor
DAYS = 365

# stage: (what it is counted per, [(primitive, how many times), ...], why those)
FLOORS: dict[str, tuple[str, list[tuple[str, float]], str]] = {
    "population": (
        "citizen",
        [("gamma per citizen and category", 1), ("uniform per citizen", 4)],
        "a propensity per category, and a draw each for household, group, age and income",
    ),
    "behaviours": (
        "event and citizen",
        [
            ("running sum per citizen and category", 1),
            ("uniform per event", 1),
            ("weighted pick per event", 1),
            ("day per event", 1),
        ],
        "the cumulative propensities of each category, which a pick by weight needs; who (a "
        "uniform, found in them) and when, for every event",
    ),
    "channels": (
        "event",
        [("keyed uniform per event", 2), ("gather per event", 2), ("compaction per event", 1)],
        "in view and the face search (a draw each, keyed by the event for common random "
        "numbers), the actor's region and group, the records kept",
    ),
    "policies": (
        "record",
        [
            ("sort of record keys in runs", 1),
            ("running sum per record", 3),
            ("scatter-add per record", 3),
        ],
        "one sort of the records by citizen and day (as they arrive: a few runs in citizen "
        "order, with the faster of NumPy's two sorts), then a running sum and a scatter-add for "
        "each of the three worlds (recorded, own records, perfect information)",
    ),
    "counts": (
        "event and record",
        [("count per citizen of events", 1), ("count per citizen of records", 1)],
        "a count per citizen of the events and of the records",
    ),
}


def best(function: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` calls, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def primitives(
    citizens: int, events: int, records: int, categories: int, repeat: int
) -> dict[str, float]:
    """Seconds of each primitive at the run's sizes (fastest of `repeat`); `categories`: the
    behaviour categories with a propensity."""
    rng = np.random.default_rng(12345)
    person = rng.integers(0, citizens, events).astype(np.int32)
    subject = np.sort(rng.integers(0, citizens, records)).astype(np.int32)
    day = rng.integers(0, DAYS, records).astype(np.int64)
    keys = rng.permutation(subject.astype(np.int64) << 32 | day)
    # As a record stream arrives: six runs in citizen order (one per behaviour), days in any
    # order within a citizen.
    runs = np.concatenate([np.sort(part >> 32) << 32 | (part & 0xFFFFFFFF)
                           for part in np.array_split(keys, 6)])  # fmt: skip
    points = rng.integers(-50, 0, records).astype(np.int32)
    propensities = rng.standard_gamma(0.5, (categories, citizens)).astype(np.float32)
    weights = np.cumsum(propensities[0], dtype=np.float64)
    table = rng.integers(0, 8, citizens).astype(np.int8)
    kept = rng.random(events) < records / max(events, 1)
    ordered = np.sort(rng.random(events)) * weights[-1]
    draws = keyed(1, 0, "floor")
    identity = np.arange(events, dtype=np.uint64)
    out = {
        "uniform per citizen": best(lambda: rng.random(citizens, dtype=np.float32), repeat),
        "running sum per citizen and category": best(
            lambda: [np.cumsum(column, dtype=np.float64) for column in propensities], repeat
        ),
        "gamma per citizen and category": best(
            lambda: rng.standard_gamma(0.5, (categories, citizens), dtype=np.float32), repeat
        ),
        "uniform per event": best(lambda: rng.random(events, dtype=np.float32), repeat),
        "keyed uniform per event": best(lambda: draws.uniforms(identity), repeat),
        # Uniforms in order (events drawn in citizen order, as a count per citizen would give
        # them): a binary search with each query near the last.
        "weighted pick per event": min(
            best(lambda: np.searchsorted(weights, ordered), repeat),
            best(lambda: np.argsort(np.concatenate([weights, ordered]), kind="stable"), repeat),
        ),
        "day per event": best(lambda: rng.integers(0, DAYS, events, dtype=np.int32), repeat),
        "gather per event": best(lambda: table[person], repeat),
        "compaction per event": best(lambda: person[np.flatnonzero(kept)], repeat),
        "count per citizen of events": best(
            lambda: np.bincount(person, minlength=citizens), repeat
        ),
        "count per citizen of records": best(
            lambda: np.bincount(subject, minlength=citizens), repeat
        ),
        "sort of record keys": best(lambda: np.sort(keys), repeat),
        "sort of record keys in runs": min(
            best(lambda k=kind: np.sort(runs, kind=k), repeat) for kind in ("quicksort", "stable")
        ),
        "running sum per record": best(lambda: np.cumsum(points), repeat),
        "scatter-add per record": best(
            lambda: np.bincount(subject, weights=points, minlength=citizens), repeat
        ),
    }
    return out


def stage_seconds(scenario, citizens: int, repeat: int) -> tuple[dict[str, float], int, int]:
    """Each stage's fastest seconds over `repeat` runs, and the run's events and records.

    The runs are not recorded in the run catalogue: they are a benchmark's, not the user's."""
    import creditsim

    fastest: dict[str, float] = {}
    for _ in range(repeat):
        result = creditsim.run(
            scenario, population=citizens, seed=1, citizen_rows="none", catalogue=False
        )
        for stage, seconds in result.timings.items():
            fastest[stage] = min(seconds, fastest.get(stage, float("inf")))
    overall = result.audit()["overall"]
    events = int(sum(overall["events_by_behaviour"].values()))
    return fastest, events, int(overall["records"])


def compare(stages: dict[str, float], prims: dict[str, float]) -> list[dict]:
    """One row per stage: its seconds, its floor and their ratio (stages without a floor too,
    with their seconds)."""
    rows = []
    for stage, seconds in sorted(stages.items(), key=lambda item: -item[1]):
        row: dict = {"stage": stage, "seconds": round(seconds, 4)}
        if stage in FLOORS:
            per, parts, why = FLOORS[stage]
            floor = sum(prims[name] * times for name, times in parts)
            row.update(per=per, floor_seconds=round(floor, 4), why=why,
                       floor=[f"{times:g} x {name}" for name, times in parts],
                       ratio=round(seconds / floor, 2) if floor > 0 else None)  # fmt: skip
            row["at_floor"] = row["ratio"] is not None and row["ratio"] <= WITHIN
        rows.append(row)
    return rows


def markdown(record: dict) -> str:
    sizes = record["sizes"]
    lines = [
        "# Each stage beside its floor",
        "",
        f"`{record['command']}`; {record['when']}. Machine: {record['machine']}; load average "
        f"(1, 5, 15 min) {_load(record['load_start'])} at the start, "
        f"{_load(record['load_end'])} at the end.",
        "",
        f"Scenario `{record['scenario']}` at {sizes['citizens']:,} citizens, one year: "
        f"{sizes['events']:,} events ({sizes['events'] / sizes['citizens']:.2f} per citizen) and "
        f"{sizes['records']:,} records ({sizes['records'] / sizes['citizens']:.2f}). Stage "
        f"seconds: the fastest of {record['repeat']} runs in this process (the run's timings); "
        f"primitives: the fastest of {record['repeat']} calls each, on arrays of the run's "
        f"sizes, in the same process. A stage is at its floor within {WITHIN:g} times it.",
        "",
        "| stage | seconds | per | floor (s) | stage / floor | at its floor | the floor |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for row in record["stages"]:
        if "floor_seconds" not in row:
            if row["seconds"] >= 0.01 * record["run_seconds"]:
                lines.append(f"| {row['stage']} | {row['seconds']:.3f} | | | | no floor set | |")
            continue
        verdict = "yes" if row["at_floor"] else f"**no** ({row['ratio']:.1f} times)"
        lines.append(
            f"| {row['stage']} | {row['seconds']:.3f} | {row['per']} | {row['floor_seconds']:.3f} "
            f"| {row['ratio']:.1f} | {verdict} | {'; '.join(row['floor'])}: {row['why']} |"
        )
    lines += [
        "",
        "## The primitives",
        "",
        "| primitive | seconds | ns per item |",
        "|---|---:|---:|",
    ]
    for name, seconds in record["primitives"].items():
        items = _items(name, sizes)
        lines.append(f"| {name} | {seconds:.4f} | {seconds / items * 1e9:.1f} |")
    lines.append("")
    return "\n".join(lines)


def _items(name: str, sizes: dict[str, int]) -> int:
    if "citizen" in name and "count" not in name:
        return sizes["citizens"] * (sizes["categories"] if "category" in name else 1)
    return sizes["records"] if "record" in name else sizes["events"]


def _load(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(HEAVY), help="a preset or a TOML file")
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import creditsim

    load_start = os.getloadavg()
    scenario = creditsim.load_scenario(args.scenario)
    started = time.perf_counter()
    stages, events, records = stage_seconds(scenario, args.population, args.repeat)
    run_seconds = (time.perf_counter() - started) / args.repeat
    categories = len({b.category for b in scenario.behaviours if b.propensity_weight})
    prims = primitives(args.population, events, records, max(categories, 1), args.repeat)
    name = Path(args.scenario).name if Path(args.scenario).exists() else args.scenario
    record = {
        "command": shlex.join(["python", *sys.argv]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, NumPy {np.__version__}",
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "scenario": name,
        "repeat": args.repeat,
        "sizes": {
            "citizens": args.population,
            "events": events,
            "records": records,
            "categories": max(categories, 1),
        },  # fmt: skip
        "run_seconds": round(run_seconds, 3),
        "primitives": {k: round(v, 5) for k, v in prims.items()},
        "stages": compare(stages, prims),
    }
    write_atomically(args.out / "floor.json", json.dumps(record, indent=2) + "\n")
    text = markdown(record)
    write_atomically(args.out / "floor.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
