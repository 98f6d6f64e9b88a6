"""The cost of an uncertainty analysis: design rows, runs and citizens simulated, seconds, by
workers; and the sensitivity ranking it found for wrongful sanctions, disparity and children.

    python bench/bench_uncertainty.py --population 100000 --samples 10 --workers 1 2

Each analysis runs once (a Morris design is a few hundred runs), every point on the same seed, so
the runs with 1 and with 2 workers must give the same uncertainty.json; the script checks it.
Writes bench/results/uncertainty.json and uncertainty.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchfiles import write_atomically  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def measure(args: argparse.Namespace, workers: int, folder: Path) -> dict:
    import creditsim

    out = folder / f"workers-{workers}"
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = creditsim.uncertainty(
        args.scenario, samples=args.samples, method=args.method, population=args.population,
        seed=args.seed, workers=None if workers == 1 else workers, out=out,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    return {
        "workers": workers,
        "seconds": round(seconds, 1),
        "design_rows": len(result.design),
        "runs": result.runs,
        "citizens_simulated": result.runs * result.population,
        "seconds_per_run": round(seconds / result.runs, 3),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "json": (out / "uncertainty.json").read_bytes(),
        "result": result,
    }


def rankings(result, top: int) -> dict[str, list[dict]]:
    from creditsim.workflow.uncertainty_page import ranked_metrics

    return {m: result.sensitivity[m]["ranking"][:top] for m in ranked_metrics(result)}


def markdown(args: argparse.Namespace, rows: list[dict], ranked: dict, result) -> str:
    from creditsim.workflow.uncertainty_page import key_metrics, label, show

    command = " ".join(["python bench/bench_uncertainty.py", *sys.argv[1:]])
    lines = [
        "# The cost of an uncertainty analysis",
        "",
        f"`{command}` at commit {_commit()}. Machine: {platform.machine()}, {os.cpu_count()} "
        f"cores, Python {platform.python_version()}; the load average (1 minute) before and "
        "after each analysis is in the table: other work shared the machine.",
        "",
        f"{args.scenario}, {len(result.ranges)} assumptions, Morris with {args.samples} "
        f"trajectories: {len(result.design)} design rows, of which {len(result.points)} distinct "
        f"points, and the scenario as written: {result.runs} runs of "
        f"{args.population:,} citizens for one year, every one on seed {args.seed}.",
        "",
        "| workers | seconds | runs | citizens simulated | s per run | load before | load after |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['workers']} | {row['seconds']} | {row['runs']} | "
            f"{row['citizens_simulated']:,} | {row['seconds_per_run']} | {row['load_before']} | "
            f"{row['load_after']} |"
        )
    same = len({row["json"] for row in rows}) == 1
    lines += ["", f"uncertainty.json identical with every number of workers: {same}.", ""]
    lines += ["## The headline numbers over the ranges", ""]
    lines += [f"- {result.intervals[m]['in_words']}" for m in key_metrics(result)]
    lines += ["", "## What drives them (Morris mu*, the mean absolute change across a range)", ""]
    for metric, ranking in ranked.items():
        lines.append(f"{label(metric)}:")
        lines.append("")
        for row in ranking:
            lines.append(
                f"{row['rank']}. `{row['path']}`: mu* {show('x', row['mu_star'])} "
                f"(± {show('x', row['mu_star_conf'])}), sigma {show('x', row['sigma'])}"
            )
        lines.append("")
    return "\n".join(lines)


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False,
        cwd=Path(__file__).resolve().parent,
    )  # fmt: skip
    return done.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="national-2018")
    parser.add_argument("--population", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--method", default="morris")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(args, workers, Path(folder)) for workers in args.workers]
    result = rows[0]["result"]
    ranked = rankings(result, args.top)
    text = markdown(args, rows, ranked, result)
    figures = {
        "command": " ".join(sys.argv),
        "scenario": args.scenario,
        "population": args.population,
        "samples": args.samples,
        "assumptions": len(result.ranges),
        "rows": [{k: v for k, v in row.items() if k not in ("json", "result")} for row in rows],
        "identical_json": len({row["json"] for row in rows}) == 1,
        "rankings": ranked,
    }
    write_atomically(RESULTS / "uncertainty.json", json.dumps(figures, indent=2) + "\n")
    write_atomically(RESULTS / "uncertainty.md", text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
