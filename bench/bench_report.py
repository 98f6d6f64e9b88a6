"""Reports in a second: `creditsim report RUN` as a whole process, on runs of several sizes.

    python bench/bench_report.py RUN [RUN ...] [--repeat 3] [--src OTHER/src --label before]

For each run directory (made with `creditsim run ... --out RUN`), the best and the median wall
time of `--repeat` fresh `creditsim report RUN -o FILE` processes, and their CPU time (user +
system, which a busy machine inflates less than the wall time). `--src` measures another
checkout's source (for example a worktree of an earlier commit) with the same Python, in the same
run, taking turns with this one, so that the two are compared by ratio under one load. The
figures, the command, the machine, the load average and a yardstick of the load go to
bench/results/report.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PYCACHE = Path(tempfile.gettempdir()) / "creditsim-bench-report-pycache"
REPORT = (
    "import sys; from creditsim.cli import main; sys.argv = ['creditsim', *sys.argv[1:]]; main()"
)


def once(run: Path, out: Path, src: str | None) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh report process."""
    # Bytecode cached as an installed package has it (PYTHONDONTWRITEBYTECODE would compile
    # every module of the checkout at each start): the first of the repeats writes it, in a
    # folder of its own per checkout, and the best of them is kept.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"CREDITSIM_CATALOGUE": "off", "MPLBACKEND": "Agg",
            "PYTHONPYCACHEPREFIX": str(PYCACHE / ("other" if src else "this"))}  # fmt: skip
    if src is not None:
        env["PYTHONPATH"] = src
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", REPORT, "report", str(run), "-o", str(out)],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def measure(run: Path, out: Path, sources: dict[str, str | None], repeat: int) -> dict:
    """Each source's report of `run`, `repeat` times, taking turns (so that a change of load
    falls on both alike): best and median wall, best CPU."""
    walls: dict[str, list[float]] = {label: [] for label in sources}
    cpus: dict[str, list[float]] = {label: [] for label in sources}
    for _ in range(repeat):
        for label, src in sources.items():
            wall, cpu = once(run, out, src)
            walls[label].append(wall)
            cpus[label].append(cpu)
    return {
        label: {
            "best_wall": min(walls[label]),
            "median_wall": statistics.median(walls[label]),
            "best_cpu": min(cpus[label]),
            "median_cpu": statistics.median(cpus[label]),
        }
        for label in sources
    }


def yardstick(repeat: int) -> dict[str, float]:
    """A fixed piece of work measured beside the reports (a fresh process importing
    matplotlib's Figure): how much the load slows everything down at the time."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import matplotlib.figure"], check=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {"best_wall": min(walls), "best_cpu": min(cpus)}


def population(run: Path) -> int:
    return int(json.loads((run / "manifest.json").read_text())["population"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", help="another checkout's src folder, measured beside")
    parser.add_argument("--label", default="other", help="its name in the table")
    parser.add_argument("--note", default="", help="how the runs were made, and anything else")
    args = parser.parse_args()
    sources: dict[str, str | None] = {"this checkout": None}
    if args.src:
        sources[args.label] = args.src
    load_before = os.getloadavg()
    figures: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for run in args.runs:
            key = f"{population(run):,} citizens"
            figures[key] = measure(run, Path(folder) / "r.html", sources, args.repeat)
    load_after = os.getloadavg()
    probe = yardstick(args.repeat)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    command = "python bench/bench_report.py " + " ".join(
        [*(str(r) for r in args.runs), "--repeat", str(args.repeat)]
        + (["--src", args.src, "--label", args.label] if args.src else [])
    )
    data = {
        "command": command,
        "machine": machine,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "figures": figures,
        "yardstick_import_matplotlib_figure": probe,
        "note": args.note,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "report.md").write_text(_markdown(data, list(sources)))
    print(_markdown(data, list(sources)))
    return 0


def _markdown(data: dict, labels: list[str]) -> str:
    lines = [
        "# Reports: `creditsim report RUN` as a whole process",
        "",
        f"`{data['command']}`; best and median of fresh processes, wall and CPU (user + system) "
        f"seconds. Machine: {data['machine']}; load average (1, 5, 15 min) "
        f"{', '.join(f'{v:.1f}' for v in data['load_average_before'])} before and "
        f"{', '.join(f'{v:.1f}' for v in data['load_average_after'])} after: other work ran at "
        "the same time, so compare the columns of one row (same run, same load) by ratio.",
        "",
        "| run | "
        + " | ".join(f"{label}: wall best / median (s) | {label}: CPU best (s)" for label in labels)
        + " |",  # fmt: skip
        "|---|" + "---:|---:|" * len(labels),
    ]
    for run, by_label in data["figures"].items():
        cells = []
        for label in labels:
            f = by_label[label]
            cells.append(f"{f['best_wall']:.2f} / {f['median_wall']:.2f} | {f['best_cpu']:.2f}")
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    probe = data["yardstick_import_matplotlib_figure"]
    lines += [
        "",
        f'Yardstick, measured right after: a fresh `python -c "import matplotlib.figure"` '
        f"took {probe['best_wall']:.2f} s wall, {probe['best_cpu']:.2f} s CPU (best of "
        "the same repeats); with the machine near idle (load average 1.5) it took about 0.5 s "
        "wall: the more above that, the busier the machine was.",
    ]
    if data.get("note"):
        lines += ["", data["note"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
