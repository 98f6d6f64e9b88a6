"""Start-up: what a user waits for before creditsim does anything, as whole processes.

    python bench/bench_startup.py [--repeat 7] [--python OTHER/bin/python] [--src OTHER/src]
                                  [--label before]

Times, best of `--repeat` fresh processes each: `import creditsim`, `creditsim --help`,
`creditsim run` on 1,000 citizens (national-2018) with nothing written, and the same run
writing its directory (`--out DIR`), each checkout recording in a catalogue of its own: wall
seconds, and the CPU seconds of the same process (user and system; less sensitive to the
machine's load); then the CPU seconds of importing each large piece on its own (IMPORTS).
Bytecode is cached (in a temporary PYTHONPYCACHEPREFIX), as in an installed package.
`--python` measures another installation, `--src` another checkout's `src` (for example a
worktree of an earlier commit, put first on PYTHONPATH), in the same run, so that the two are
compared by ratio on one machine under one load: the two are run in turn, one process of each
and then again, so that a machine whose speed drifts weighs on both alike. Figures go to
bench/results/startup.md and .json, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
RUN = "import sys; from creditsim.cli import main; sys.argv = ['creditsim', {}]; main()"
CASES = {
    "import creditsim": "import creditsim",
    "creditsim --help": RUN.format("'--help'"),
    "creditsim run national-2018 -n 1000": RUN.format("'run', 'national-2018', '-n', '1000'"),
    "creditsim run national-2018 -n 1000 --out DIR": RUN.format(
        "'run', 'national-2018', '-n', '1000', '--out', {out!r}"
    ),
}

# What the run's start is made of: CPU seconds of a fresh process importing each (the
# interpreter's own start included: compare with "nothing").
IMPORTS = {
    "nothing (the interpreter)": "pass",
    "numpy": "import numpy",
    "numpy, pydantic": "import numpy, pydantic",
    "creditsim.scenario.schema (with numpy, pydantic)": "import creditsim.scenario.schema",
    "pydantic's plugin search (entry points)": "from pydantic.plugin._loader import get_plugins; "
    "get_plugins()",
    "typer, rich": "import typer, rich.console, rich.progress",
    "numpy, pyarrow.parquet": "import numpy, pyarrow.parquet",
    "duckdb (the run catalogue)": "import duckdb",
    "creditsim.cli": "import creditsim.cli",
    "creditsim.workflow.run": "import creditsim.workflow.run",
    "numpy, scipy.special (no longer on the run's path)": "import numpy, scipy.special",
    "numpy, pandas (no longer on the run's path)": "import numpy, pandas",
}


def best_of(
    python: str, code: str, repeat: int, env: dict[str, str], folder: Path
) -> tuple[float, float]:
    """The fastest wall seconds of `repeat` fresh processes, and the least CPU seconds (user
    and system) among them. Each run writing a directory writes a new one."""
    runs = [_once(python, code, env, folder) for _ in range(repeat)]
    return min(wall for wall, _ in runs), min(cpu for _, cpu in runs)


def best_of_each(
    setups: dict[str, tuple[str, dict[str, str]]], code: str, repeat: int, folder: Path
) -> dict[str, tuple[float, float]]:
    """`best_of` for each (python, environment) of `setups`, their runs taken in turn (one of
    each, then again), so that a machine that speeds up or slows down meanwhile weighs on each
    alike."""
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in setups}
    for _ in range(repeat):
        for label, (python, env) in setups.items():
            runs[label].append(_once(python, code, env, folder))
    return {
        label: (min(wall for wall, _ in got), min(cpu for _, cpu in got))
        for label, got in runs.items()
    }


def _once(python: str, code: str, env: dict[str, str], folder: Path) -> tuple[float, float]:
    """Wall and CPU (user and system) seconds of one fresh process."""
    out = Path(tempfile.mkdtemp(dir=folder)) / "run"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([python, "-c", code.replace("{out!r}", repr(str(out)))], check=True,
                   capture_output=True, env=env)  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--python", help="another installation's python, measured beside")
    parser.add_argument("--src", help="another checkout's src folder, measured beside")
    parser.add_argument("--label", default="other", help="its name in the table")
    args = parser.parse_args()
    others = {}
    if args.python or args.src:
        others[args.label] = (args.python or sys.executable, args.src)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        # Bytecode cached as an installed package has it (PYTHONDONTWRITEBYTECODE would
        # compile every module of the checkout at each start), in a folder of its own.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env |= {"CREDITSIM_CATALOGUE": str(folder / "catalogue.duckdb"),
                "PYTHONPYCACHEPREFIX": str(folder / "pycache")}  # fmt: skip
        # Each checkout records in a catalogue of its own: versions that record differently
        # (straight into the file, or through its journal) would otherwise slow each other.
        checkouts = {"this checkout": (sys.executable, None), **others}
        setups = {
            label: (python, env | {"CREDITSIM_CATALOGUE": str(folder / f"catalogue-{number}")}
                    | ({"PYTHONPATH": src} if src else {}))
            for number, (label, (python, src)) in enumerate(checkouts.items())
        }  # fmt: skip
        for python, env_of in setups.values():
            best_of(python, CASES["creditsim --help"], 1, env_of, folder)  # caches bytecode
        figures: dict[str, dict[str, tuple[float, float]]] = {label: {} for label in setups}
        for case, code in CASES.items():
            for label, figure in best_of_each(setups, code, args.repeat, folder).items():
                figures[label][case] = figure
        imports = {
            case: best_of(sys.executable, code, args.repeat, env, folder)[1]
            for case, code in IMPORTS.items()
        }
    record = {
        "command": shlex.join(["python", *sys.argv]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": {k: {c: round(v[0], 4) for c, v in f.items()} for k, f in figures.items()},
        "cpu_seconds": {k: {c: round(v[1], 4) for c, v in f.items()} for k, f in figures.items()},
        "import_cpu_seconds": {k: round(v, 4) for k, v in imports.items()},
    }
    text = _markdown(record, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.md").write_text(text)
    (RESULTS / "startup.json").write_text(json.dumps(record, indent=2) + "\n")
    print(text)
    return 0


def _markdown(record: dict, repeat: int) -> str:
    labels = list(record["seconds"])
    load = ", ".join(f"{x:.2f}" for x in record["load_start"])
    lines = [
        "# Start-up, as whole processes",
        "",
        f"`{record['command']}`; {record['when']}; best of {repeat} fresh processes each "
        f"(wall; the checkouts in turn), and the least CPU time (user + system) among them. "
        f"Machine: {record['machine']}; load average (1, 5, 15 min) {load} at the start, "
        f"{record['load_end'][0]:.2f} at the end.",
        "",
        "| | " + " | ".join(f"{label} (s) | {label} CPU (s)" for label in labels) + " |",
        "|---|" + "---:|---:|" * len(labels),
    ]
    for case in CASES:
        cells = " | ".join(
            f"{record['seconds'][label][case]:.3f} | {record['cpu_seconds'][label][case]:.3f}"
            for label in labels
        )
        lines.append(f"| `{case}` | {cells} |")
    lines += [
        "",
        "## What the start is made of",
        "",
        "CPU seconds (user + system, the least of the runs) of a fresh process of this "
        "checkout importing each, the interpreter's start included.",
        "",
        "| import | CPU (s) |",
        "|---|---:|",
    ]
    lines += [f"| {case} | {cpu:.3f} |" for case, cpu in record["import_cpu_seconds"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
