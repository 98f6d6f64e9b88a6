"""Benchmark of the core engine: national-2018 for one year at several populations.

Each size runs in a fresh process pinned to one core, so peak memory (max RSS) belongs to that
size alone and the time is one core's. Figures go to bench/results/core.json and core.md.

    python bench/bench_core.py                 # 100k, 1M and 4M citizens
    python bench/bench_core.py --sizes 100000  # a quick check

The run is not recorded in the run catalogue. Wall time includes the kernel's time for the
process (fresh memory, above all), which varies from run to run on a virtual machine: the user and
system seconds are kept apart. Each process then runs the same size again: "steady" is that second
run, the pace of a worker that runs shard after shard in memory it already holds. The headline is
the first run, the fastest of `--repeat` fresh processes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

from benchfiles import write_atomically

RESULTS = Path(__file__).parent / "results"
CHILD = r"""
import json, os, resource, sys, tempfile, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import creditsim
size, scenario = int(sys.argv[1]), sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF)
with tempfile.TemporaryDirectory() as folder:
    started = time.perf_counter()
    result = creditsim.run(
        scenario, population=size, years=1.0, seed=1, out=folder + "/run", catalogue=False
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
peak = after.ru_maxrss / 1024
# The same run again in this process: its memory is already mapped, so this is the pace of a
# worker that runs shard after shard, without the kernel's cost of handing out fresh pages.
with tempfile.TemporaryDirectory() as folder:
    again = time.perf_counter()
    creditsim.run(
        scenario, population=size, years=1.0, seed=1, out=folder + "/run", catalogue=False
    )
    steady = time.perf_counter() - again
audit = result.audit()["overall"]
print(json.dumps({
    "citizens": size,
    "seconds": seconds,
    "seconds_steady": steady,
    # CPU time in the process and in the kernel for it (page faults, above all)
    "user_seconds": after.ru_utime - before.ru_utime,
    "system_seconds": after.ru_stime - before.ru_stime,
    "peak_memory_mib": peak,
    "true_events": audit["true_events"],
    "records": audit["records"],
    "events_per_second": audit["true_events"] / seconds,
    "seconds_simulating": sum(v for k, v in result.timings.items() if k != "write"),
    "seconds_writing": result.timings.get("write", 0.0),
    "stages_seconds": result.timings,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--scenario", default="national-2018")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the fastest is kept")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    load_start, yardstick_start = _load(), yardstick()
    rows = []
    for size in args.sizes:
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(size), args.scenario],
                check=True, capture_output=True, text=True, env=env,
            )  # fmt: skip
            runs.append(json.loads(out.stdout))
        best = min(runs, key=lambda r: r["seconds"])
        best["seconds_all_runs"] = [round(r["seconds"], 3) for r in runs]
        best["seconds_steady"] = min(r["seconds_steady"] for r in runs)
        rows.append(best)
        print(
            f"{size:>12,} citizens  {best['seconds']:7.3f} s  {best['peak_memory_mib']:8.0f} MiB"
            f"  {best['events_per_second'] / 1e6:6.2f} M events/s",
            flush=True,
        )
    base = rows[0]
    for row in rows:
        row["seconds_per_million"] = row["seconds"] / row["citizens"] * 1e6
        row["time_ratio_to_smallest"] = row["seconds"] / base["seconds"]
        row["size_ratio_to_smallest"] = row["citizens"] / base["citizens"]
    report = {
        "benchmark": "core: one year, one process pinned to one core, outputs written",
        "command": shlex.join(["python", *sys.argv]),
        "repeat": args.repeat,
        "load_average_start": load_start,
        "load_average_end": _load(),
        "yardstick_seconds": {"start": yardstick_start, "end": yardstick()},
        "scenario": args.scenario,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    write_atomically(RESULTS / "core.json", json.dumps(report, indent=2) + "\n")
    write_atomically(RESULTS / "core.md", markdown(report))


def yardstick() -> float:
    """Seconds of a fixed piece of work on one core (sorting 4M random floats, the fastest of
    five): how fast the machine was when the figures were taken. A virtual machine's speed
    drifts with its host's load, which its own load average does not show."""
    import numpy as np

    values = np.random.default_rng(0).random(4_000_000)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        np.sort(values)
        times.append(time.perf_counter() - started)
    return round(min(times), 4)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def markdown(report: dict) -> str:
    """core.md: the table, with the command, the date, the machine and its load."""
    machine = report["machine"]
    lines = [f"# core benchmark ({report['scenario']}, one year, one core)", ""]
    if "command" in report:
        stick = report["yardstick_seconds"]
        lines += [
            f"`{report['command']}`; {report['when']}. Machine: {machine['processor']}, "
            f"{machine['cpus']} CPUs, Python {machine['python']}; load average (1, 5, 15 min) "
            f"{_listed(report['load_average_start'])} at the start, "
            f"{_listed(report['load_average_end'])} at the end; yardstick (sorting 4M random "
            f"floats on one core) {stick['start']:.3f} s at the start and {stick['end']:.3f} s "
            "at the end: machines of one size differ by up to three times, and a virtual "
            "machine's speed drifts with its host, so compare figures with the yardstick's.",
            "",
            f"Seconds: {_processes(report['repeat'])} pinned to one core, "
            "from the run's start to its outputs written; steady: the same process running the "
            "same size again, in memory it already holds.",
            "",
        ]
    else:
        lines += [f"{report['when']}. Machine: {machine['processor']}, {machine['cpus']} CPUs.", ""]
    lines += [
        "| citizens | seconds | simulating | writing | s per million | user s | system s "
        "| peak MiB | events/s | time ratio | steady s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['citizens']:,} | {row['seconds']:.3f} | {row['seconds_simulating']:.3f} "
            f"| {row['seconds_writing']:.3f} | {row['seconds_per_million']:.3f} "
            f"| {row['user_seconds']:.3f} | {row['system_seconds']:.3f} "
            f"| {row['peak_memory_mib']:.0f} | {row['events_per_second']:,.0f} "
            f"| {row['time_ratio_to_smallest']:.2f} (size {row['size_ratio_to_smallest']:.0f}x) "
            f"| {row['seconds_steady']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def _processes(count: int) -> str:
    return "one fresh process" if count == 1 else f"the fastest of {count} fresh processes"


def _listed(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
