"""The memory estimate against the measured peak: presets at 100k and 1M citizens, and scenarios
that stress each term (wide daily score histograms, many events, many records, contacts, kept
citizen rows).

Each case runs in a fresh process: the peak resident memory is reset once the simulator is
imported (/proc/self/clear_refs), the run is made (one shard at a time, in that process, written
to a temporary directory unless noted), and the measured growth is the peak less what the process
held before the run. The estimate is `creditsim.engine.footprint.estimate(...).in_process()`,
what `creditsim.run` compares with the memory limit.

    python bench/bench_footprint.py            # every case
    python bench/bench_footprint.py --quick    # the presets at 100k only

Figures go to bench/results/footprint.json and footprint.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from benchfiles import write_atomically

RESULTS = Path(__file__).parent / "results"
PRESETS = ("national-2018", "rongcheng-pilot", "sesame", "fico-baseline", "no-system")

# A score policy 99,801 points wide (the national score's floor moved to -99,000), kept daily.
WIDE = {
    "run": {"timeseries_every_days": 1},
    "policies": [
        {
            "type": "points",
            "name": "national",
            "minimum": -99000,
            "grades": [
                {"grade": "AAA", "min_score": 750},
                {"grade": "AA", "min_score": 730},
                {"grade": "A", "min_score": 690},
                {"grade": "B", "min_score": 650},
                {"grade": "C", "min_score": 600},
                {"grade": "D", "min_score": -99000},
            ],
        }
    ],
}

CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)

import creditsim
from creditsim.engine.footprint import estimate
from creditsim.scenario import load_scenario

case = json.loads(sys.argv[1])
base = load_scenario(case["scenario"])
override = dict(case.get("override") or {})
scale = case.get("scale_rates")
if scale is not None:
    override["behaviours"] = [
        {"name": b.name, "rate_per_year": b.rate_per_year * scale} for b in base.behaviours
    ]
settings = {"population": case["population"], "citizen_rows": case.get("rows", "none")}
for key in ("years", "shard_size"):
    if key in case:
        settings[key] = case[key]
scenario = load_scenario(load_scenario(base, override), {"run": settings})
written = case.get("written", True)
footprint = estimate(scenario, written)
import creditsim.workflow.run  # noqa: E402,F401  (the modules a run loads, held before it)

with tempfile.TemporaryDirectory() as folder:
    Path("/proc/self/clear_refs").write_text("5")  # the peak is reset to what is held now
    before = status("VmRSS")
    started = time.perf_counter()
    result = creditsim.run(
        scenario, out=Path(folder) / "run" if written else None, catalogue=False
    )
    seconds = time.perf_counter() - started
    peak = status("VmHWM")
overall = result.audit()["overall"]
print(json.dumps({
    "measured": peak - before,
    "estimate": footprint.in_process(),
    "shard_parts": footprint.shard_parts,
    "main_parts": footprint.main_parts,
    "seconds": seconds,
    "events": overall["true_events"],
    "records": overall["records"],
}))
"""


def cases(quick: bool) -> list[dict]:
    sizes = (100_000,) if quick else (100_000, 1_000_000)
    out = [
        {"label": f"{preset} {size:,}", "scenario": preset, "population": size}
        for size in sizes
        for preset in PRESETS
    ]
    if quick:
        return out
    return out + [
        {"label": "national-2018 1,000,000, citizen rows written", "scenario": "national-2018",
         "population": 1_000_000, "rows": "all"},
        {"label": "national-2018 200,000, citizen rows kept in memory",
         "scenario": "national-2018", "population": 200_000, "rows": "all", "written": False},
        {"label": "national-2018 3,000,000 (3 shards)", "scenario": "national-2018",
         "population": 3_000_000},
        {"label": "national-2018 100,000, rates x10", "scenario": "national-2018",
         "population": 100_000, "scale_rates": 10},
        {"label": "national-2018 100,000, rates x30", "scenario": "national-2018",
         "population": 100_000, "scale_rates": 30},
        {"label": "no-system 100,000, rates x30", "scenario": "no-system",
         "population": 100_000, "scale_rates": 30},
        {"label": "sesame 100,000, rates x10", "scenario": "sesame", "population": 100_000,
         "scale_rates": 10},
        {"label": "national-2018 100,000, rates x10, informants x25 (80% false)",
         "scenario": "national-2018", "population": 100_000, "scale_rates": 10,
         "override": {"channels": {"informant": {"report_rate": 0.5, "false_share": 0.8}}}},
        {"label": "national-2018 1,000,000, 5 years", "scenario": "national-2018",
         "population": 1_000_000, "years": 5},
        {"label": "wide daily histograms, 2,000 citizens, 0.25 years",
         "scenario": "national-2018", "population": 2_000, "years": 0.25, "override": WIDE},
        {"label": "wide daily histograms, 2,000 citizens, 0.5 years",
         "scenario": "national-2018", "population": 2_000, "years": 0.5, "override": WIDE},
        {"label": "wide daily histograms, 2,000 citizens in 2 shards, 0.25 years",
         "scenario": "national-2018", "population": 2_000, "years": 0.25, "shard_size": 1_000,
         "override": WIDE},
        {"label": "audit with 30,000 bootstrap replicates, 20,000 citizens",
         "scenario": "national-2018", "population": 20_000,
         "override": {"audit": {"bootstrap_replicates": 30_000}}},
        {"label": "daily time series, 100,000 citizens, 20 years", "scenario": "national-2018",
         "population": 100_000, "years": 20, "override": {"run": {"timeseries_every_days": 1}}},
    ]  # fmt: skip


def measure(case: dict) -> dict:
    spec = {key: value for key, value in case.items() if key != "label"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{case['label']} failed:\n{done.stderr[-3000:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["label"] = case["label"]
    row["ratio"] = row["estimate"] / row["measured"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows = []
    for case in cases(args.quick):
        row = measure(case)
        rows.append(row)
        print(
            f"{row['label']:<62} measured {row['measured'] / 2**20:9.1f} MiB  "
            f"estimate {row['estimate'] / 2**20:9.1f} MiB  x{row['ratio']:.2f}",
            flush=True,
        )
    load = os.getloadavg()
    report = {
        "benchmark": "memory estimate against the measured peak of one run in a fresh process",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30),
            "load_average": [round(x, 2) for x in load],
            "python": platform.python_version(),
        },
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    name = "footprint-quick" if args.quick else "footprint"
    write_atomically(RESULTS / f"{name}.json", json.dumps(report, indent=2) + "\n")
    machine = report["machine"]
    lines = [
        "# memory estimate against the measured peak",
        "",
        f"Machine: {machine['cpus']} CPUs, {machine['memory_gib']} GiB, load average "
        f"{', '.join(str(x) for x in machine['load_average'])} at the end ({report['when']}).",
        "Measured: the peak resident memory of a fresh process during `creditsim.run` (shards "
        "one after another in that process), less what it held before the run. Estimate: "
        "`estimate(scenario).in_process()`, what the run is checked with.",
        "",
        "| case | events | records | measured MiB | estimate MiB | estimate / measured |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['label']} | {row['events']:,} | {row['records']:,} | "
            f"{row['measured'] / 2**20:,.0f} | {row['estimate'] / 2**20:,.0f} | "
            f"{row['ratio']:.2f} |"
        )
    ratios = [row["ratio"] for row in rows]
    lines += ["", f"Estimate / measured: from {min(ratios):.2f} to {max(ratios):.2f}.", ""]
    write_atomically(RESULTS / f"{name}.md", "\n".join(lines))


if __name__ == "__main__":
    main()
