"""Country-scale benchmark: weak and strong scaling, and the full population of China.

Each configuration runs `creditsim run` in a fresh process; a sampler adds up the resident memory
of that process and all its children (the Dask workers) every 0.2 s, so "peak memory" is the
whole run's. Citizen rows are not written (`--citizen-rows none`); time series and audit are.

    python bench/bench_scale.py scaling          # 1M, 10M, 100M citizens with 1 and 2 workers
    python bench/bench_scale.py full             # 1.4 billion citizens, 2 workers
    python bench/bench_scale.py scaling --sizes 1000000 10000000

Figures are merged into bench/results/scale.json and scale.md (a configuration run again
replaces its row).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from benchfiles import write_atomically

RESULTS = Path(__file__).parent / "results"
FULL = 1_400_000_000


def measure(population: int, workers: int, scenario: str, shard_size: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="creditsim-bench-"))
    command = [
        sys.executable, "-m", "creditsim.cli", "run", scenario,
        "--population", str(population), "--years", "1", "--seed", "1",
        "--citizen-rows", "none", "--shard-size", str(shard_size),
        "--workers", str(workers), "--out", str(folder / "run"),
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = _PeakSampler(process.pid)
    peak.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    peak.stop()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-2000:]}")
    manifest = json.loads((folder / "run" / "manifest.json").read_text())
    audit = json.loads((folder / "run" / "audit.json").read_text())["overall"]
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "citizens": population,
        "workers": workers,
        "shard_size": shard_size,
        "shards": manifest["shards"],
        "seconds": round(seconds, 2),
        "seconds_per_million": round(seconds / population * 1e6, 4),
        "peak_memory_mib": round(peak.peak / 2**20),
        "true_events": audit["true_events"],
        "events_per_second": round(audit["true_events"] / seconds),
        "worker_stage_seconds": manifest["timings_seconds"],
    }


class _PeakSampler(threading.Thread):
    """The largest total RSS of a process and its descendants, sampled."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                family = [self.root, *self.root.children(recursive=True)]
                total = sum(_rss(p) for p in family)
                self.peak = max(self.peak, total)
            except psutil.NoSuchProcess:
                pass
            self._halt.wait(0.2)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["scaling", "full"])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000, 100_000_000]
    )
    parser.add_argument("--workers", type=int, nargs="+", default=None)
    parser.add_argument("--scenario", default="national-2018")
    parser.add_argument("--shard-size", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.mode == "full":
        sizes, workers = [FULL], args.workers or [2]
    else:
        sizes, workers = args.sizes, args.workers or [1, 2]
    path = RESULTS / "scale.json"
    report = json.loads(path.read_text()) if path.exists() else {"rows": []}
    report.update(
        {
            "benchmark": "scale: one year, every mechanism of the scenario on, citizen rows "
            "not written; seconds are wall time of the whole command",
            "scenario": args.scenario,
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                "python": platform.python_version(),
            },
        }
    )
    for size in sizes:
        for count in workers:
            row = measure(size, count, args.scenario, args.shard_size)
            row["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            print(
                f"{size:>14,} citizens  {count} workers  {row['seconds']:8.1f} s  "
                f"{row['peak_memory_mib']:6d} MiB",
                flush=True,
            )
            key = (size, count, args.shard_size)
            report["rows"] = [
                r for r in report["rows"] if (r["citizens"], r["workers"], r["shard_size"]) != key
            ] + [row]
    report["rows"].sort(key=lambda r: (r["citizens"], r["workers"]))
    RESULTS.mkdir(exist_ok=True)
    write_atomically(path, json.dumps(report, indent=2) + "\n")
    write_markdown(report, args.scenario)


def write_markdown(report: dict, scenario: str) -> None:
    """bench/results/scale.md from the report's rows."""
    lines = [
        f"# scale benchmark ({scenario}, one year, citizen rows not written)",
        "",
        f"Machine: {report['machine']['cpus']} CPUs, {report['machine']['memory_gib']} GiB. Rows "
        "measured on different days may come from different machines of that size, which "
        "differ by up to a factor of three: compare rows measured together.",
        "",
        "| citizens | workers | shards | seconds | s per million | peak MiB (all processes) "
        "| measured (UTC) |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['citizens']:,} | {r['workers']} | {r['shards']} | {r['seconds']:.1f} "
            f"| {r['seconds_per_million']:.3f} | {r['peak_memory_mib']:,} "
            f"| {r.get('when', 'not recorded')[:16].replace('T', ' ')} |"
        )
    write_atomically(RESULTS / "scale.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
